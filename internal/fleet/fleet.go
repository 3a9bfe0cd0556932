// Package fleet is the one model every docker-magents command reads or changes: a fleet
// of Claude Code agents. Its settings are saved in the compose file's x-magents block;
// everything else (compose file, stack, manifests) is rendered from it.
package fleet

import (
	"errors"
	"fmt"
	"iter"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/publicsuffix"

	"github.com/docker-magents/docker-magents/images/supervisor/agentconfig"
	"github.com/docker-magents/docker-magents/images/supervisor/gatewaypolicy"
)

const (
	DefaultProject   = "magents"
	DefaultFile      = "docker-compose.claude.yml"
	DefaultEnvFile   = ".env.magents"
	DefaultImage     = "magents/claude-agent:latest"
	DefaultDevImage  = "magents/claude-agent:dev"
	DefaultMemory    = "4g"
	DefaultPids      = 1024        // processes per agent: room for builds and test runs, not for a fork bomb
	DefaultUser      = "1000:1000" // the image's own user
	StateDirName     = ".magents"
	MaxAgents        = 256
	ClaudeConfigDir  = "/home/magents/.claude"
	WorkspaceDir     = "/workspace"
	SecretsMountPath = "/run/magents-secrets"
)

// Fleet is a project's agents and how they run. The yaml fields are the x-magents block.
type Fleet struct {
	// Project is the compose project name; ComposeFile the file's absolute path. Neither is
	// saved in x-magents: the file's top-level name and its place say them.
	Project     string `yaml:"-"`
	ComposeFile string `yaml:"-"`

	// Version is the x-magents format (FormatVersion when written; 0 in files written
	// before it had one).
	Version int `yaml:"version,omitempty"`

	Agents int    `yaml:"agents"`
	Image  string `yaml:"image"`
	// Devcontainer is the project's devcontainer.json the agent image is built from
	// (relative to the compose file's directory), "none" for none; "" until up looks.
	Devcontainer string `yaml:"devcontainer,omitempty"`
	// ProjectEnv is the devcontainer's containerEnv as up last read it: every agent's,
	// under what the fleet sets itself (agentspec.Reserved).
	ProjectEnv map[string]string `yaml:"project_env,omitempty"`
	// ProjectCommands is the devcontainer's lifecycle commands as up last read them
	// (lifecycle.Commands as JSON), which every agent runs before its agent starts.
	ProjectCommands string `yaml:"project_commands,omitempty"`

	Workspace string  `yaml:"workspace"` // as written: relative to the compose file's directory, or absolute
	EnvFile   string  `yaml:"env_file"`  // likewise
	User      string  `yaml:"user"`      // UID:GID the agents run as
	Memory    string  `yaml:"memory"`
	CPUs      float64 `yaml:"cpus,omitempty"`
	Dev       bool    `yaml:"dev,omitempty"` // also the claude-agent-dev service
	// Pids limits each agent's processes: 0 is DefaultPids, -1 none.
	Pids int `yaml:"pids,omitempty"`
	// ReadOnlyRootfs makes the agents' root filesystem read-only, with tmpfs for /tmp,
	// the run dir and the home directory.
	ReadOnlyRootfs bool `yaml:"read_only_rootfs,omitempty"`
	// Docker mounts the engine's socket into the agents: root on the host for whoever
	// controls them. Off unless asked for.
	Docker bool `yaml:"docker,omitempty"`
	// DockerGID is the group that owns the engine's socket on the host, which an agent given
	// Docker joins (read by up, so rendering never reads the host).
	DockerGID string `yaml:"docker_gid,omitempty"`
	// HealthStartInterval: the engine runs health checks at start_interval while a container
	// starts (API 1.44, Engine 25 and later), so checks can be rare once it is up. up sets
	// it from the engine it talks to.
	HealthStartInterval bool `yaml:"health_start_interval,omitempty"`
	// Egress is "allowlist" (the agents reach the outside only through the fleet's egress
	// proxy, and only the hosts of DefaultAllow, Allow and the env file's
	// ANTHROPIC_BASE_URL; the default of new projects) or "open". Files written before
	// egress control have none and are read as open, as they were; a file of FormatVersion
	// without one is refused.
	Egress string   `yaml:"egress,omitempty"`
	Allow  []string `yaml:"allow,omitempty"`
	// DenyModelEndpoint keeps the env file's ANTHROPIC_BASE_URL off the allowlist (it is
	// allowed by default: the agents need their model).
	DenyModelEndpoint bool `yaml:"deny_model_endpoint,omitempty"`
	// IPv6 gives the fleet's networks IPv6 too, each with a /64 of the fleet's own ULA
	// prefix (IPv6Subnet). The engine must filter IPv6 (Engine 27+, or "experimental"
	// and "ip6tables" in daemon.json before), else the agents network is not isolated.
	IPv6 bool `yaml:"ipv6,omitempty"`
	// Credential names the variable of the shared credential the agents get as a file from
	// the state dir (never its value); AuthLogin is instead a host's Claude config dir
	// mounted read-only at /auth (one agent only).
	Credential string `yaml:"credential,omitempty"`
	AuthLogin  string `yaml:"auth_login,omitempty"`
	// Budgets are spending limits in US dollars that the model gateway enforces: each
	// agent's and the whole fleet's (up --budget-usd, --fleet-budget-usd). Zero is none.
	// docker magents budget set changes them in the running gateway only.
	BudgetUSD      float64 `yaml:"budget_usd,omitempty"`
	FleetBudgetUSD float64 `yaml:"fleet_budget_usd,omitempty"`
	// CredentialFiles are the files up was given a credential in (--api-key-file,
	// --oauth-token-file), relative to the compose file: masked from the agents wherever
	// they sit, on every later up too.
	CredentialFiles []string `yaml:"credential_files,omitempty"`
	// GatewayAllow names the server tools, request fields and betas the model gateway
	// relays besides its own list (up --gateway-allow; gatewaypolicy).
	GatewayAllow []string `yaml:"gateway_allow,omitempty"`
	// GitRemotes are the remotes the gateway's git relay serves the agents (up finds them:
	// the repository's https remotes the git credentials have a line for).
	GitRemotes []string `yaml:"git_remotes,omitempty"`
	// AuthCheck has each agent ask the model API whether it takes the credential at every
	// Claude start (a free request), so a refused one shows as auth-rejected at once.
	AuthCheck bool `yaml:"auth_check,omitempty"`

	// Isolation is how agents share the workspace: IsolationClone, IsolationWorktree or
	// IsolationShared (names.go). GitDir is the repository's common git dir,
	// mounted at its own path so the worktrees' git metadata works inside the agents.
	Isolation string   `yaml:"isolation,omitempty"`
	Base      string   `yaml:"base,omitempty"`
	Includes  []string `yaml:"include,omitempty"`
	GitDir    string   `yaml:"git_dir,omitempty"`
	// CloneSeed: the agents' user cannot read GitDir (a root-owned .git of mode 0700), so
	// up bundles the repository into SeedDir for them to clone from instead.
	CloneSeed bool `yaml:"clone_seed,omitempty"`
	// Subdir is the workspace's path inside its repository ("/"-separated), when it is
	// below the top: the agents clone the whole repository and work in that directory.
	Subdir string `yaml:"subdir,omitempty"`

	// Tasks are given to the agents in order (agent-1 the first): typed into Claude's
	// prompt once it is ready, the first time each agent starts.
	Tasks []string `yaml:"tasks,omitempty"`
	// Queued are the tasks given beyond one per agent, which up adds to the fleet's work
	// queue once it runs; not saved.
	Queued []string `yaml:"-"`
	// Headless agents run `claude -p TASK` once and report done or failed (the guide's
	// CLAUDE_HEADLESS=true); their result stays in their config volume.
	Headless bool `yaml:"headless,omitempty"`
	// AgentCmd replaces claude as what runs in each agent's session (a shell command line):
	// bash for load tests, or a wrapper. Empty is claude.
	AgentCmd string `yaml:"agent_cmd,omitempty"`
	// PermissionMode is Claude Code's permission mode for every agent (its
	// permissions.defaultMode setting); empty leaves Claude's own default.
	PermissionMode string `yaml:"permission_mode,omitempty"`
	// Config is what every agent starts with besides the workspace's own CLAUDE.md,
	// .mcp.json and .claude/: files from outside the repository and the git identity.
	Config AgentConfig `yaml:"config,omitempty"`

	// ConfigSet is Config's files as read from the host (LoadConfigSet), which the
	// compose file carries; not itself saved in x-magents.
	ConfigSet agentconfig.Set `yaml:"-"`
	// HostTrusted are more host paths docker magents trusts (its records of what it
	// wrote), hidden from agents like the fleet's own files (Masks); not saved.
	HostTrusted []string `yaml:"-"`
}

// AgentConfig names the shared agent configuration's files on the host, as written
// (relative to the compose file's directory, or absolute), and the git identity.
type AgentConfig struct {
	ClaudeMD     string `yaml:"claude_md,omitempty"`
	Settings     string `yaml:"settings,omitempty"`
	MCP          string `yaml:"mcp,omitempty"`
	Commands     string `yaml:"commands,omitempty"` // a directory of slash commands (*.md)
	GitUserName  string `yaml:"git_user_name,omitempty"`
	GitUserEmail string `yaml:"git_user_email,omitempty"`
	// GitCredentials is a host file in the git-credentials format whose tokens the fleet
	// pushes with: copied into the gateway's secrets dir, for its git relay and dispatcher
	// alone; never in an agent, env or the compose file.
	GitCredentials string `yaml:"git_credentials,omitempty"`
	// Generation and Digest of the files' set as last written: the generation changes
	// only when the set does (agents keep the newer of two sets).
	Generation string `yaml:"generation,omitempty"`
	Digest     string `yaml:"digest,omitempty"`
}

// FormatVersion is the x-magents format this version writes: every $ of its string values
// doubled (compose interpolates x- blocks too), and egress always said.
const FormatVersion = 2

// Egress modes.
const (
	EgressAllowlist = "allowlist"
	EgressOpen      = "open"
)

// DefaultAllow is what an agent needs out there: Claude Code's API, telemetry and
// downloads, the npm registry and the Go module proxy, GitHub.
var DefaultAllow = []string{
	"api.anthropic.com", "statsig.anthropic.com", "console.anthropic.com", "sentry.io", "*.sentry.io",
	"claude.ai", "*.claude.ai", // Claude Code fetches from downloads.claude.ai at start
	"registry.npmjs.org", "proxy.golang.org", "sum.golang.org",
	"github.com", "*.github.com", "*.githubusercontent.com",
}

// AllowList is the egress proxy's whole allowlist: the defaults and the fleet's own. With
// the model gateway, the Messages API is not on it: only the gateway reaches the model.
func (f *Fleet) AllowList() []string {
	var out []string
	for _, h := range DefaultAllow {
		if h != ModelAPIHost || !f.ModelGateway() {
			out = append(out, h)
		}
	}
	return append(out, f.Allow...)
}

// ModelAPIHost is the Messages API's host.
const ModelAPIHost = "api.anthropic.com"

// GatewayRelays reports whether the model gateway relays a credential of variable name:
// an API key, or an auth token (what Claude sends for each is known and tested). An OAuth
// token from claude setup-token is not relayed: whether the API takes it relayed cannot be
// shown offline, so agents keep it as before.
func GatewayRelays(name string) bool {
	return name == "ANTHROPIC_API_KEY" || name == "ANTHROPIC_AUTH_TOKEN"
}

// ModelGateway reports whether the fleet's agents reach the model through its gateway
// (the egress proxy, which holds the credential): with egress allowlist and a credential
// it relays.
func (f *Fleet) ModelGateway() bool {
	return f.Egress == EgressAllowlist && GatewayRelays(f.Credential)
}

// HasBudgets reports whether any spending limit is set.
func (f *Fleet) HasBudgets() bool {
	return f.BudgetUSD > 0 || f.FleetBudgetUSD > 0
}

// EgressProxyService is the compose service of the egress proxy.
const EgressProxyService = "egress-proxy"

// Isolations are the ways agents share the workspace: a private clone each, a git
// worktree each, or the one directory.
var Isolations = []string{IsolationClone, IsolationWorktree, IsolationShared}

// ParseIsolation reads an --isolation value.
func ParseIsolation(s string) (string, error) {
	if !slices.Contains(Isolations, s) {
		return "", fmt.Errorf("invalid --isolation %q: use %s", s, strings.Join(Isolations, ", "))
	}
	return s, nil
}

// PermissionModes are the modes Claude Code takes (claude --permission-mode).
var PermissionModes = []string{"manual", "acceptEdits", "auto", "plan", "dontAsk", "bypassPermissions"}

// WorktreeDir is where agent's worktree lives (under the state dir).
func (f *Fleet) WorktreeDir(agent string) string {
	return filepath.Join(f.StateDir(), "worktrees", agent)
}

// WorktreeRel is WorktreeDir as the compose file writes it.
func WorktreeRel(agent string) string { return "./" + StateDirName + "/worktrees/" + agent }

// New is a fleet with the defaults of a new project.
func New(project, composeFile string) *Fleet {
	return &Fleet{
		Version:     FormatVersion,
		Project:     project,
		ComposeFile: composeFile,
		Agents:      1,
		Image:       DefaultImage,
		Workspace:   ".",
		EnvFile:     DefaultEnvFile,
		User:        DefaultUser,
		Memory:      DefaultMemory,
		Egress:      EgressAllowlist,
	}
}

// PidsLimit is the agents' process limit as compose takes it (-1: none).
func (f *Fleet) PidsLimit() int64 {
	if f.Pids == 0 {
		return DefaultPids
	}
	return int64(f.Pids)
}

// Dir is the directory of the compose file; relative paths in the fleet start there.
func (f *Fleet) Dir() string { return filepath.Dir(f.ComposeFile) }

// StateDir holds what is not a setting: secret files, the lock, worktrees.
func (f *Fleet) StateDir() string { return filepath.Join(f.Dir(), StateDirName) }

// SecretsDir (0700) holds the stored credential when no credential helper does.
func (f *Fleet) SecretsDir() string { return filepath.Join(f.StateDir(), "secrets") }

// AgentSecretsDir holds the credential file the agents read; it alone is mounted into
// them, read-only.
func (f *Fleet) AgentSecretsDir() string { return filepath.Join(f.SecretsDir(), "agents") }

// AgentSecretsRel is AgentSecretsDir as the compose file writes it.
const AgentSecretsRel = "./" + StateDirName + "/secrets/agents"

// GatewaySecretsDir holds the fleet's key, which signs each agent's token (how the
// gateway and the dispatcher know an agent), and with the model gateway the credential;
// it is mounted into the egress proxy alone, read-only, and into no agent.
func (f *Fleet) GatewaySecretsDir() string { return filepath.Join(f.SecretsDir(), "gateway") }

// GatewaySecretsRel is GatewaySecretsDir as the compose file writes it.
const GatewaySecretsRel = "./" + StateDirName + "/secrets/gateway"

// In the egress proxy: where the gateway's secrets are mounted, the fleet's key, and the
// files in the socket directories' mount where the gateway keeps its account and the
// dispatcher its queue across restarts.
const (
	GatewaySecretsMountPath = "/run/magents-gateway"
	AgentKeyFile            = "key"
	GatewayStateFile        = "gateway.json"
	QueueStateFile          = "queue.json"
	// AgentTokenFile is an agent's token, which the proxy writes in its socket directory.
	AgentTokenFile = "agent-token"
)

// AuthMountPath is where a host's Claude login is mounted in an agent.
const AuthMountPath = "/auth"

// HostLoginFiles are the files of a host's Claude login an agent is given (those the
// supervisor copies in): the credential, the settings, the onboarding state.
var HostLoginFiles = []string{".credentials.json", "settings.json", ".claude.json", "config.json"}

// Abs resolves a path of the fleet's against the compose file's directory.
func (f *Fleet) Abs(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(f.Dir(), p)
}

// Rel is a path given on the command line as the fleet saves it: relative to the compose
// file's directory when it lies inside it, so the file moves with its directory; else
// absolute.
func (f *Fleet) Rel(p string) string {
	if p == "" {
		return ""
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	if rel, err := filepath.Rel(f.Dir(), abs); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
		if rel == "." {
			return "."
		}
		return "./" + rel
	}
	return abs
}

// AgentNames are agent-1 … agent-N: agents are numbered from 1 everywhere.
func (f *Fleet) AgentNames() []string {
	names := make([]string, f.Agents)
	for i := range names {
		names[i] = AgentName(i + 1)
	}
	return names
}

func AgentName(n int) string { return "agent-" + strconv.Itoa(n) }

// ContainerName is <project>-agent-N: magents-agent-1 in the default project, as in the guide.
func (f *Fleet) ContainerName(agent string) string { return f.Project + "-" + agent }

// ConfigVolume is the agent's own volume for its Claude config dir.
func ConfigVolume(agent string) string { return agent + "-config" }

// CloneVolume is the named volume that holds agent's private clone (isolation clone).
func CloneVolume(agent string) string { return agent + "-work" }

// OriginMountPath is where a clone-mode agent sees the host repository, read-only: the
// origin it clones from.
const OriginMountPath = "/magents/origin"

// DevService is the guide's development container, with --dev.
const DevService = "claude-agent-dev"

// Agent is the agent-N a name (agent-N, or N) stands for in f, refused when f has no
// such agent.
func (f *Fleet) Agent(name string) (string, error) {
	n, err := AgentNumber(name)
	if err != nil {
		return "", err
	}
	if n > f.Agents {
		return "", fmt.Errorf("project %s has %d agent(s): there is no agent-%d", f.Project, f.Agents, n)
	}
	return AgentName(n), nil
}

// DevContainerName is the dev service's container.
func (f *Fleet) DevContainerName() string { return f.Project + "-claude-dev" }

// AgentNumber parses "agent-N" (or just "N").
func AgentNumber(name string) (int, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(name, "agent-"))
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%q is not an agent: agents are named agent-1, agent-2, …", name)
	}
	return n, nil
}

var projectName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// Validate checks the settings a user gives; errors say what to give instead.
func (f *Fleet) Validate() error {
	var errs []error
	if !projectName.MatchString(f.Project) {
		errs = append(errs, fmt.Errorf("invalid project name %q: use lowercase letters, digits, '-' and '_', starting with a letter or digit", f.Project))
	}
	validAgents := f.Agents >= 1 && f.Agents <= MaxAgents
	if !validAgents {
		errs = append(errs, fmt.Errorf("invalid number of agents %d: give 1 to %d", f.Agents, MaxAgents))
	}
	if f.Image == "" {
		errs = append(errs, errors.New("no image: give --image"))
	}
	if f.Workspace == "" {
		errs = append(errs, errors.New("no workspace: give --workspace"))
	}
	if f.EnvFile == "" {
		errs = append(errs, errors.New("no env file: give --env-file"))
	}
	if f.GitDir != "" && !filepath.IsAbs(f.GitDir) {
		errs = append(errs, fmt.Errorf("invalid git_dir %q: the repository's git dir by its absolute path", f.GitDir))
	}
	if _, _, err := ParseUser(f.User); err != nil {
		errs = append(errs, err)
	}
	if err := ParseMemory(f.Memory); err != nil {
		errs = append(errs, err)
	}
	if f.Isolation != "" {
		if _, err := ParseIsolation(f.Isolation); err != nil {
			errs = append(errs, err)
		}
	}
	if f.Credential != "" && !IsCredentialVar(f.Credential) {
		errs = append(errs, fmt.Errorf("invalid credential %q: one of %s", f.Credential, strings.Join(CredentialVars, ", ")))
	}
	// Git takes these as arguments on the host: never an option, never a second line.
	if strings.HasPrefix(f.Base, "-") || strings.ContainsFunc(f.Base, unicode.IsControl) {
		errs = append(errs, fmt.Errorf("invalid --base %q: give a branch, tag or commit", f.Base))
	}
	for _, p := range f.Includes {
		if p == "" || strings.ContainsAny(p, "\n\x00") {
			errs = append(errs, fmt.Errorf("invalid --include %q: give a gitignore-style pattern on one line", p))
		}
	}
	if validAgents && len(f.Tasks) > f.Agents {
		errs = append(errs, fmt.Errorf("%d tasks for %d agent(s): give at most one task per agent, or more agents (with --egress allowlist, the default, the fleet's queue takes the rest)", len(f.Tasks), f.Agents))
	}
	if f.PermissionMode != "" && !slices.Contains(PermissionModes, f.PermissionMode) {
		errs = append(errs, fmt.Errorf("invalid permission mode %q: use one of %s", f.PermissionMode, strings.Join(PermissionModes, ", ")))
	}
	if f.Egress != EgressAllowlist && f.Egress != EgressOpen {
		errs = append(errs, fmt.Errorf(`invalid --egress %q: use "allowlist" or "open"`, f.Egress))
	}
	if f.Subdir != "" && (!utf8.ValidString(f.Subdir) || path.IsAbs(f.Subdir) || path.Clean(f.Subdir) != f.Subdir || f.Subdir == ".." || strings.HasPrefix(f.Subdir, "../") ||
		strings.IndexFunc(f.Subdir, unicode.IsControl) >= 0) {
		errs = append(errs, fmt.Errorf("invalid subdir %q: the workspace's path inside its repository, relative and clean (run docker magents up --force from the workspace to write it again)", f.Subdir))
	}
	if f.Config.GitCredentials != "" && f.Egress != EgressAllowlist {
		errs = append(errs, errors.New("--git-credentials: the fleet's git credentials stay with its gateway, which runs with --egress allowlist (the default); with --egress open each agent would hold them"))
	}
	for _, a := range f.Allow {
		host, port, hasPort := strings.Cut(a, ":")
		if _, err := strconv.Atoi(port); hasPort && (err != nil || port == "") || host == "" || strings.ContainsAny(host, " /,:") ||
			strings.Count(host, "*") > 1 || (strings.Contains(host, "*") && !strings.HasPrefix(host, "*.")) {
			errs = append(errs, fmt.Errorf("invalid --allow %q: give a host name (api.example.com), a wildcard domain (*.example.com), or either with a port (gateway.example.com:8080; without one, 80 and 443)", a))
		} else if base, ok := strings.CutPrefix(strings.ToLower(host), "*."); ok {
			if suffix, _ := publicsuffix.PublicSuffix(base); suffix == base {
				errs = append(errs, fmt.Errorf("invalid --allow %q: %s is a public suffix, under which anyone can register a name: allow the domains you mean (*.example.%s)", a, base, base))
			}
		}
	}
	if f.Pids < -1 {
		errs = append(errs, fmt.Errorf("invalid --pids %d: give a positive number, or -1 for no limit", f.Pids))
	}
	if f.CPUs < 0 {
		errs = append(errs, fmt.Errorf("invalid --cpus %v: give a positive number", f.CPUs))
	}
	if f.BudgetUSD < 0 || f.FleetBudgetUSD < 0 {
		errs = append(errs, errors.New("invalid budget: give 0 (none) or more US dollars"))
	}
	for _, name := range f.GatewayAllow {
		if err := gatewaypolicy.Validate(name); err != nil {
			errs = append(errs, err)
		}
	}
	if f.ReadOnlyRootfs && f.Config.hasFiles() {
		errs = append(errs, errors.New("--read-only-rootfs and a shared agent config (--claude-md, --settings, --mcp, --commands) do not go together: compose copies the config into each container, which a read-only root refuses; drop one of them"))
	}
	if strings.ContainsAny(f.Config.GitUserName+f.Config.GitUserEmail, "\n\x00") {
		errs = append(errs, errors.New("invalid git identity: a name or email on one line"))
	}
	for name, v := range f.texts() {
		if !utf8.ValidString(v) {
			errs = append(errs, fmt.Errorf("invalid %s %q: not UTF-8 text, which is all a compose file or an agent's environment carries", name, v))
		}
	}
	return errors.Join(errs...)
}

// texts yields every string the user gives the fleet, by the name a message calls it.
func (f *Fleet) texts() iter.Seq2[string, string] {
	return func(yield func(string, string) bool) {
		one := []struct{ name, v string }{
			{"image", f.Image}, {"workspace", f.Workspace}, {"env file", f.EnvFile}, {"user", f.User},
			{"memory", f.Memory}, {"docker group", f.DockerGID}, {"egress", f.Egress}, {"credential", f.Credential},
			{"auth login", f.AuthLogin}, {"isolation", f.Isolation}, {"base", f.Base}, {"git dir", f.GitDir},
			{"agent command", f.AgentCmd}, {"permission mode", f.PermissionMode},
			{"CLAUDE.md", f.Config.ClaudeMD}, {"settings", f.Config.Settings}, {"MCP config", f.Config.MCP},
			{"commands", f.Config.Commands}, {"git user name", f.Config.GitUserName},
			{"git user email", f.Config.GitUserEmail}, {"git credentials", f.Config.GitCredentials},
			{"config generation", f.Config.Generation}, {"config digest", f.Config.Digest},
			{"devcontainer", f.Devcontainer}, {"devcontainer's lifecycle commands", f.ProjectCommands},
		}
		for _, t := range one {
			if !yield(t.name, t.v) {
				return
			}
		}
		for k, v := range f.ProjectEnv {
			if !yield("devcontainer's containerEnv", k) || !yield("devcontainer's containerEnv "+k, v) {
				return
			}
		}
		lists := []struct {
			name string
			v    []string
		}{{"--allow", f.Allow}, {"--include", f.Includes}, {"task", f.Tasks}}
		for _, l := range lists {
			for _, v := range l.v {
				if !yield(l.name, v) {
					return
				}
			}
		}
	}
}

// ParseUser parses a numeric UID:GID.
func ParseUser(s string) (uid, gid int, err error) {
	u, g, ok := strings.Cut(s, ":")
	uid, err1 := strconv.Atoi(u)
	gid, err2 := strconv.Atoi(g)
	if !ok || err1 != nil || err2 != nil || uid < 0 || gid < 0 {
		return 0, 0, fmt.Errorf("invalid user %q: give a numeric UID:GID such as 1000:1000", s)
	}
	return uid, gid, nil
}
