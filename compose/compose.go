// Package compose renders a fleet as a compose project (the file `docker magents up`
// writes and `docker compose` runs), validates it with compose-go's own loader, and reads
// a fleet back from the x-magents block of a written file.
package compose

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/loader"
	"github.com/compose-spec/compose-go/v2/types"
	"go.yaml.in/yaml/v4"

	"github.com/docker-magents/docker-magents/images/supervisor/agentconfig"
	"github.com/docker-magents/docker-magents/images/supervisor/agentenv"
	"github.com/docker-magents/docker-magents/images/supervisor/gatewaypolicy"
	"github.com/docker-magents/docker-magents/images/supervisor/gitrelay"
	"github.com/docker-magents/docker-magents/images/supervisor/modelusage"
	"github.com/docker-magents/docker-magents/internal/agentspec"
	"github.com/docker-magents/docker-magents/internal/fleet"
)

// Extension is the top-level key that holds the fleet's settings.
const Extension = "x-magents"

// Project renders the fleet as a compose project.
func Project(f *fleet.Fleet) (*types.Project, error) {
	p := &types.Project{
		Name:       f.Project,
		WorkingDir: f.Dir(),
		Services:   types.Services{},
		Volumes:    types.Volumes{},
		Extensions: types.Extensions{Extension: f.Saved()},
	}
	for i, name := range f.AgentNames() {
		s, err := agentService(f, name, f.ContainerName(name), f.Image, strconv.Itoa(i+1))
		if err != nil {
			return nil, err
		}
		p.Services[name] = s
		p.Volumes[fleet.ConfigVolume(name)] = types.VolumeConfig{}
		if f.Isolation == fleet.IsolationClone {
			p.Volumes[fleet.CloneVolume(name)] = types.VolumeConfig{}
		}
	}
	if f.Egress == fleet.EgressAllowlist {
		// Agents have no network at all; the egress proxy, on an ordinary one, is their only
		// way out, through a unix socket of each agent's own.
		p.Networks = types.Networks{EgressNetwork: withIPv6(f, types.NetworkConfig{}, 2)}
		p.Services[fleet.EgressProxyService] = egressProxyService(f)
	} else {
		// Open egress: one network, on which the bridge keeps agents from reaching each
		// other (no inter-container traffic).
		p.Networks = types.Networks{"default": withIPv6(f, types.NetworkConfig{
			DriverOpts: types.Options{"com.docker.network.bridge.enable_icc": "false"},
		}, 1)}
	}
	if len(f.ConfigSet) > 0 {
		p.Configs = sharedConfigs(f)
	}
	if f.Dev {
		// The guide's development container: the dev target, its own config volume.
		name := fleet.DevService
		s, err := agentService(f, name, f.DevContainerName(), fleet.DefaultDevImage, "dev")
		if err != nil {
			return nil, err
		}
		p.Services[name] = s
		p.Volumes[fleet.ConfigVolume("claude-dev")] = types.VolumeConfig{}
	}
	return p, nil
}

func agentService(f *fleet.Fleet, name, container, image, id string) (types.ServiceConfig, error) {
	s := types.ServiceConfig{Name: name}
	// compose-go moves ServiceConfig fields between embedded structs across versions:
	// set them by assignment so this compiles against each.
	s.ContainerName = container
	s.Image = image
	// No init of the engine's: the image's entrypoint is tini, execute-only so that the
	// agent cannot reach the container's log pipes through it (the engine's docker-init
	// would be PID 1, readable, its /proc/1/fd open to the agent's UID).
	s.Restart = types.RestartPolicyUnlessStopped
	s.User = f.User
	s.WorkingDir = fleet.WorkspaceDir
	s.Labels = types.Labels{fleet.AgentLabel: id}
	s.EnvFiles = []types.EnvFile{{Path: f.EnvFile, Required: true}}
	// What every target gives an agent (agentspec), then what compose adds: the credential
	// as a file, the clone, the egress proxy.
	spec := agentspec.Shared(f)
	if n, err := fleet.AgentNumber(name); err == nil {
		spec = agentspec.Env(f, n)
	} else {
		spec[agentenv.AgentID] = id
		delete(spec, agentenv.Headless) // the dev container is for a person
	}
	env := types.MappingWithEquals{}
	for k, v := range spec {
		env[k] = ptr(v)
	}
	gateway := f.ModelGateway()
	if f.Credential != "" && !gateway {
		env[f.Credential+"_FILE"] = ptr(fleet.SecretsMountPath + "/" + fleet.SecretFileName(f.Credential))
	}
	// git settings of the agents, in git's command-line scope (fleet.GitConfigEnv).
	var gitConfig [][2]string
	private := (f.Isolation == fleet.IsolationClone || f.Isolation == fleet.IsolationWorktree) && name != fleet.DevService
	if private {
		env[agentenv.CloneFrom] = ptr(fleet.OriginMountPath)
		if f.CloneSeed {
			env[agentenv.CloneFrom] = ptr(fleet.SeedMountPath + "/" + fleet.SeedBundle)
		}
		env[agentenv.CloneBranch] = ptr("magents/" + name)
		// The origin belongs to the host user: let git in the agent use it (a command-line
		// scope setting, which safe.directory honours).
		gitConfig = append(gitConfig, [2]string{"safe.directory", fleet.OriginMountPath})
		if f.Base != "" {
			env[agentenv.CloneBase] = ptr(f.Base)
		}
		env[agentenv.CloneIncludeDir] = ptr(fleet.IncludeMountPath)
		if f.Subdir != "" {
			env[agentenv.WorkDir] = ptr(fleet.WorkspaceDir + "/" + f.Subdir)
		}
	}
	if relay := f.GitRelayConfig("http://127.0.0.1:" + fleet.ProxyPort); relay != nil && f.Egress == fleet.EgressAllowlist && name != fleet.DevService {
		// The fleet's remotes through the gateway's git relay, which holds the credential:
		// the agent's git sends its own token there, and holds nothing else.
		env[gitrelay.URLEnv] = ptr("http://127.0.0.1:" + fleet.ProxyPort)
		gitConfig = append(gitConfig, relay...)
	}
	// The fleet's git identity (agentspec) first, then these: the same keys, and more.
	for k, v := range f.GitConfigEnv(gitConfig...) {
		env[k] = ptr(v)
	}
	if f.Egress == fleet.EgressAllowlist {
		// The supervisor forwards this loopback port to the proxy's socket for the agent.
		proxy := "http://127.0.0.1:" + fleet.ProxyPort
		for _, k := range []string{"HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"} {
			env[k] = ptr(proxy)
		}
		env[agentenv.EgressSocket] = ptr(fleet.EgressSocketMount + "/" + fleet.EgressSocketName)
		for _, k := range []string{"NO_PROXY", "no_proxy"} {
			env[k] = ptr("localhost,127.0.0.1,::1")
		}
	}
	if f.Egress == fleet.EgressAllowlist {
		// The agent's own token (the proxy writes it in the agent's socket directory): how
		// the dispatcher, and the gateway, know it besides its socket.
		env[agentenv.AgentTokenFile] = ptr(fleet.EgressSocketMount + "/" + fleet.AgentTokenFile)
	}
	if gateway {
		// The model through the fleet's gateway, on the same loopback port (the proxy takes
		// origin-form requests for the Messages API), with the agent's token.
		env["ANTHROPIC_BASE_URL"] = ptr("http://127.0.0.1:" + fleet.ProxyPort)
		env[agentenv.GatewayTokenFile] = ptr(fleet.EgressSocketMount + "/" + fleet.AgentTokenFile)
	}
	if len(f.ConfigSet) > 0 {
		s.Configs = sharedConfigRefs(f)
	}
	s.Environment = env
	volume := fleet.ConfigVolume(name)
	if name == fleet.DevService {
		volume = fleet.ConfigVolume("claude-dev")
	}
	s.Volumes = []types.ServiceVolumeConfig{
		{Type: types.VolumeTypeVolume, Source: volume, Target: fleet.ClaudeConfigDir},
		{Type: types.VolumeTypeBind, Source: f.Workspace, Target: fleet.WorkspaceDir},
	}
	s.Volumes = append(s.Volumes, masks(f, fleet.WorkspaceDir)...)
	if private {
		// A private clone, made by the supervisor from the host repository's git dir,
		// which the agent sees read-only — and nothing else of the host's tree but the
		// included files the host staged: the host's tree, objects, refs, config and hooks
		// are never written, and its other untracked files (secrets) never seen. The clone
		// lives in the agent's own volume, or (worktree) in its directory on the host,
		// where the developer can open it; either way the host never runs git in it.
		work := types.ServiceVolumeConfig{Type: types.VolumeTypeVolume, Source: fleet.CloneVolume(name), Target: fleet.WorkspaceDir}
		if f.Isolation == fleet.IsolationWorktree {
			work = types.ServiceVolumeConfig{Type: types.VolumeTypeBind, Source: fleet.WorktreeRel(name), Target: fleet.WorkspaceDir}
		}
		origin := types.ServiceVolumeConfig{Type: types.VolumeTypeBind, Source: f.OriginGitDir(), Target: fleet.OriginMountPath, ReadOnly: true}
		if f.CloneSeed {
			// The agents' user cannot read the git dir: a bundle up made is their origin.
			origin = types.ServiceVolumeConfig{Type: types.VolumeTypeBind, Source: fleet.SeedRel, Target: fleet.SeedMountPath, ReadOnly: true}
		}
		s.Volumes = []types.ServiceVolumeConfig{
			{Type: types.VolumeTypeVolume, Source: volume, Target: fleet.ClaudeConfigDir},
			work,
			origin,
			{Type: types.VolumeTypeBind, Source: fleet.IncludeStageRel, Target: fleet.IncludeMountPath, ReadOnly: true},
		}
	}
	if f.Credential != "" && !gateway {
		// The directory, not each file: a credential replaced by rename is seen by the
		// next Claude start (a file bind mount would pin the old inode).
		s.Volumes = append(s.Volumes, types.ServiceVolumeConfig{
			Type: types.VolumeTypeBind, Source: fleet.AgentSecretsRel, Target: fleet.SecretsMountPath, ReadOnly: true,
		})
	}
	if f.AuthLogin != "" {
		// The guide's read-only /auth of a host login, which the supervisor copies in: only
		// the files it reads, never the rest of the login dir (every project's history and
		// transcripts).
		for _, name := range fleet.HostLoginFiles {
			if _, err := os.Stat(filepath.Join(f.AuthLogin, name)); err == nil {
				s.Volumes = append(s.Volumes, types.ServiceVolumeConfig{
					Type: types.VolumeTypeBind, Source: filepath.Join(f.AuthLogin, name), Target: fleet.AuthMountPath + "/" + name, ReadOnly: true,
				})
			}
		}
	}
	limits, err := agentspec.LimitsOf(f)
	if err != nil {
		return s, err
	}
	s.MemLimit = types.UnitBytes(limits.MemoryBytes)
	s.CPUS = float32(limits.CPUs)
	s.PidsLimit = limits.Pids
	sec, err := agentspec.SecurityOf(f, false)
	if err != nil {
		return s, err
	}
	if sec.DropAllCaps {
		s.CapDrop = []string{"ALL"}
	}
	if sec.NoNewPrivileges {
		s.SecurityOpt = []string{"no-new-privileges:true"}
	}
	if sec.ReadOnlyRootfs {
		s.ReadOnly = true
		s.Tmpfs = types.StringList(sec.Writable)
	}
	if f.Docker && name != fleet.DevService {
		s.Volumes = append(s.Volumes, types.ServiceVolumeConfig{Type: types.VolumeTypeBind, Source: fleet.DockerSocket, Target: fleet.DockerSocket})
		if f.DockerGID != "" {
			s.GroupAdd = []string{f.DockerGID}
		}
	}
	if f.Egress == fleet.EgressAllowlist {
		// No network: no other agent, no host service, no DNS — only the proxy's socket.
		s.NetworkMode = "none"
		s.Volumes = append(s.Volumes, types.ServiceVolumeConfig{
			Type: types.VolumeTypeBind, Source: fleet.EgressSocketsRel + "/" + name, Target: fleet.EgressSocketMount,
		})
		// Started, not healthy: an agent's forwarder waits for the proxy's socket itself,
		// so agents start alongside the proxy rather than a health interval after it.
		s.DependsOn = types.DependsOnConfig{fleet.EgressProxyService: {Condition: types.ServiceConditionStarted, Required: true}}
	} else {
		// Agents reach services on the host (a model gateway, a local API) as on Docker Desktop.
		s.ExtraHosts = types.HostsList{"host.docker.internal": []string{"host-gateway"}}
	}
	s.Logging = boundedLogs()
	s.HealthCheck = healthCheck(f, "health")
	return s, nil
}

// Health checks: every 5 s, where ps reads an agent's state from the last one while it is
// recent. On engines with start_interval (Engine 25 and later) every second while a
// container starts, so up and a restart are healthy as soon as the agent is; and behind
// the egress proxy, where each supervisor reports its state to the proxy as it changes
// (ps reads them all in one exec), every 5 minutes once started, a backstop: a check is an
// exec, about 150 ms of the engine's CPU on a 2-core machine, so 64 agents checked every
// 5 s kept both cores busy, and every 30 s would still take a third of one. A long start period forgives
// failures while many agents start at once on a small machine; the first success ends it.
const (
	HealthInterval         = 5 * time.Second
	HealthReportedInterval = 5 * time.Minute
	HealthStartInterval    = time.Second
	HealthStartPeriod      = 120 * time.Second
	HealthTimeout          = 10 * time.Second
)

func healthCheck(f *fleet.Fleet, subcommand string) *types.HealthCheckConfig {
	interval := HealthInterval
	if f.HealthStartInterval && f.Egress == fleet.EgressAllowlist {
		interval = HealthReportedInterval
	}
	h := &types.HealthCheckConfig{
		Test:        types.HealthCheckTest{"CMD", "/usr/local/bin/magents-supervisor", subcommand},
		Interval:    ptr(types.Duration(interval)),
		Timeout:     ptr(types.Duration(HealthTimeout)),
		Retries:     ptr(uint64(3)),
		StartPeriod: ptr(types.Duration(HealthStartPeriod)),
	}
	if f.HealthStartInterval {
		h.StartInterval = ptr(types.Duration(HealthStartInterval))
	}
	return h
}

func ptr[T any](v T) *T { return &v }

// Every container of a fleet logs to json-file, rotated: what an agent prints can take at
// most LogMaxFiles × LogMaxSize of the host's disk.
const (
	LogMaxSize  = "10m"
	LogMaxFiles = "3"
)

func boundedLogs() *types.LoggingConfig {
	return &types.LoggingConfig{Driver: "json-file", Options: types.Options{"max-size": LogMaxSize, "max-file": LogMaxFiles}}
}

// masks hide the fleet's own files (fleet.Masks) in the host workspace mounted at target:
// a directory behind an empty tmpfs no agent user can write, a file behind an empty
// read-only one (fleet.MaskFile).
func masks(f *fleet.Fleet, target string) []types.ServiceVolumeConfig {
	var out []types.ServiceVolumeConfig
	for _, m := range f.Masks(f.Abs(f.Workspace)) {
		v := types.ServiceVolumeConfig{Target: target + "/" + m.Rel, ReadOnly: true}
		if m.Dir {
			v.Type, v.ReadOnly, v.Tmpfs = types.VolumeTypeTmpfs, false, &types.ServiceVolumeTmpfs{Size: 4096, Mode: 0o555}
		} else {
			v.Type, v.Source = types.VolumeTypeBind, fleet.MaskFileRel
		}
		out = append(out, v)
	}
	// A repository's git dir, shared: read-only, since host git trusts its config and hooks
	// (the agents read history; they commit only in worktree or clone isolation).
	if _, err := os.Lstat(filepath.Join(f.Abs(f.Workspace), ".git")); err == nil {
		out = append(out, types.ServiceVolumeConfig{Type: types.VolumeTypeBind, Source: strings.TrimSuffix(f.Workspace, "/") + "/.git", Target: target + "/.git", ReadOnly: true})
	}
	return out
}

// sharedConfigs are the shared agent config's files as compose configs with inline
// content (compose copies those into each container at its start; a file: config would be
// a bind mount of the host file), and their manifest.
func sharedConfigs(f *fleet.Fleet) types.Configs {
	configs := types.Configs{}
	for _, file := range f.ConfigSet.Delivered(f.Config.Generation) {
		configs[configObjectName(file.Name)] = types.ConfigObjConfig{Content: file.Content}
	}
	return configs
}

func sharedConfigRefs(f *fleet.Fleet) []types.ServiceConfigObjConfig {
	mode := types.FileMode(0o444)
	var refs []types.ServiceConfigObjConfig
	for _, file := range f.ConfigSet.Delivered(f.Config.Generation) {
		refs = append(refs, types.ServiceConfigObjConfig{
			Source: configObjectName(file.Name), Target: fleet.ConfigDeliveredDir + "/" + file.Name, Mode: &mode,
		})
	}
	return refs
}

// configObjectName is the compose config of a shared file: magents-claude-md, ….
func configObjectName(file string) string { return "magents-" + agentconfig.ObjectName(file) }

// withIPv6 turns IPv6 on for the fleet's network number n when the fleet asks for it. The
// subnet is explicit: engines before 27 allocate none, and an IPv6 network without one
// fails to create.
func withIPv6(f *fleet.Fleet, n types.NetworkConfig, number uint16) types.NetworkConfig {
	if !f.IPv6 {
		return n
	}
	yes := true
	n.EnableIPv6 = &yes
	n.Ipam = types.IPAMConfig{Config: []*types.IPAMPool{{Subnet: f.IPv6Subnet(number)}}}
	return n
}

// The network of an egress-controlled fleet's proxy.
const EgressNetwork = "egress"

func egressProxyService(f *fleet.Fleet) types.ServiceConfig {
	s := types.ServiceConfig{Name: fleet.EgressProxyService}
	s.ContainerName = f.Project + "-" + fleet.EgressProxyService
	s.Image = f.Image
	s.Command = types.ShellCommand{"proxy"}
	s.Restart = types.RestartPolicyUnlessStopped
	s.Labels = types.Labels{fleet.EgressProxyLabel: "true"}
	// The shared settings: the proxy allows the host of their ANTHROPIC_BASE_URL too.
	s.EnvFiles = []types.EnvFile{{Path: f.EnvFile, Required: true}}
	s.Environment = types.MappingWithEquals{
		agentenv.EgressAllow: ptr(strings.Join(f.AllowList(), ",")),
		// Its own port, for its health and report, on loopback: agents use their sockets.
		agentenv.ProxyAddr:     ptr("127.0.0.1:" + fleet.ProxyPort),
		agentenv.EgressSockets: ptr(fleet.EgressSocketMount),
	}
	// As the agents' user, who owns their socket directories.
	s.User = f.User
	s.Volumes = []types.ServiceVolumeConfig{{Type: types.VolumeTypeBind, Source: fleet.EgressSocketsRel, Target: fleet.EgressSocketMount}}
	if f.DenyModelEndpoint {
		s.Environment[agentenv.EgressModelEndpoint] = ptr("deny")
	}
	// The fleet's key (and with the gateway its credential), read-only, here alone; the
	// work queue and the gateway's account kept beside the agents' socket directories.
	s.Environment[agentenv.AgentKeyFile] = ptr(fleet.GatewaySecretsMountPath + "/" + fleet.AgentKeyFile)
	s.Environment[agentenv.QueueState] = ptr(fleet.EgressSocketMount + "/" + fleet.QueueStateFile)
	s.Volumes = append(s.Volumes, types.ServiceVolumeConfig{
		Type: types.VolumeTypeBind, Source: fleet.GatewaySecretsRel, Target: fleet.GatewaySecretsMountPath, ReadOnly: true,
	})
	// A tmpfs for git's scratch files when the dispatcher pushes (the tasks' bundles, its
	// own repository and the git relay's mirrors are on the state volume, on disk), and the
	// fleet's git credentials, in the gateway's secrets, for the relay and the dispatcher.
	s.Tmpfs = types.StringList{"/tmp:size=1g"}
	if f.Config.GitCredentials != "" {
		s.Environment[gitrelay.CredentialsEnv] = ptr(fleet.GatewaySecretsMountPath + "/" + fleet.GitCredentialsFile)
		if len(f.GitRemotes) > 0 {
			s.Environment[gitrelay.RemotesEnv] = ptr(strings.Join(f.GitRemotes, ","))
		}
	}
	if f.ModelGateway() {
		s.Environment[agentenv.ModelGateway] = ptr("1")
		s.Environment[f.Credential+"_FILE"] = ptr(fleet.GatewaySecretsMountPath + "/" + fleet.SecretFileName(f.Credential))
		s.Environment[agentenv.GatewayState] = ptr(fleet.EgressSocketMount + "/" + fleet.GatewayStateFile)
		if f.HasBudgets() {
			s.Environment[agentenv.GatewayBudgets] = ptr(string(gatewayBudgets(f)))
		}
		if len(f.GatewayAllow) > 0 {
			s.Environment[agentenv.GatewayAllow] = ptr(gatewaypolicy.Allowed(f.GatewayAllow).String())
		}
	}
	s.Networks = map[string]*types.ServiceNetworkConfig{EgressNetwork: nil}
	s.CapDrop = []string{"ALL"}
	s.SecurityOpt = []string{"no-new-privileges:true"}
	s.ReadOnly = true
	s.PidsLimit = 256
	s.MemLimit = types.UnitBytes(agentenv.ProxyMemory)
	s.ExtraHosts = types.HostsList{"host.docker.internal": []string{"host-gateway"}}
	s.Logging = boundedLogs()
	s.HealthCheck = healthCheck(f, "proxy-denied")
	return s
}

// gatewayBudgets is the fleet's limits as the gateway reads them.
func gatewayBudgets(f *fleet.Fleet) []byte {
	b, _ := json.Marshal(modelusage.Budgets{AgentUSD: f.BudgetUSD, FleetUSD: f.FleetBudgetUSD})
	return b
}

// Render renders the fleet to compose YAML, every value a literal (literalYAML), and
// checks with compose-go's loader, in an environment where every variable is set, that the
// file loads and that what reaches the agents is what the fleet says: a file compose would
// reject, or that would give an agent something else, is never written.
func Render(ctx context.Context, f *fleet.Fleet) ([]byte, error) {
	want, err := Project(f)
	if err != nil {
		return nil, err
	}
	b, err := want.MarshalYAML()
	if err != nil {
		return nil, err
	}
	if b, err = literalYAML(b); err != nil {
		return nil, err
	}
	got, err := load(ctx, f.ComposeFile, b, true)
	if err != nil {
		return nil, fmt.Errorf("the generated compose file does not load (a bug in docker-magents): %w", err)
	}
	if err := sameValues(want, got); err != nil {
		return nil, fmt.Errorf("the generated compose file does not carry the fleet's values as they are (a bug in docker-magents): %w", err)
	}
	return b, nil
}

// sameValues compares what compose interpolates and an agent is given: each service's
// environment, command, entrypoint and labels, and the configs' content.
func sameValues(want, got *types.Project) error {
	for name, w := range want.Services {
		g, ok := got.Services[name]
		if !ok {
			return fmt.Errorf("service %s is missing", name)
		}
		for k, v := range w.Environment {
			if gv := g.Environment[k]; (v == nil) != (gv == nil) || v != nil && *v != *gv {
				return fmt.Errorf("service %s: %s differs", name, k)
			}
		}
		if !slices.Equal(w.Command, g.Command) || !slices.Equal(w.Entrypoint, g.Entrypoint) || !maps.Equal(w.Labels, g.Labels) {
			return fmt.Errorf("service %s: its command or labels differ", name)
		}
	}
	for name, c := range want.Configs {
		if got.Configs[name].Content != c.Content {
			return fmt.Errorf("config %s differs", name)
		}
	}
	return nil
}

// Load parses and validates compose YAML as docker compose would, without reading the
// env files it names; no variable is set.
func Load(ctx context.Context, path string, content []byte) (*types.Project, error) {
	return load(ctx, path, content, false)
}

// load is Load; with everySet, every variable the file refers to is set (to a value no
// agent is given), so that a reference left in a value shows.
func load(ctx context.Context, path string, content []byte, everySet bool) (*types.Project, error) {
	return loader.LoadWithContext(ctx, types.ConfigDetails{
		WorkingDir:  filepath.Dir(path),
		ConfigFiles: []types.ConfigFile{{Filename: path, Content: content}},
		Environment: types.Mapping{},
	}, func(o *loader.Options) {
		o.SkipResolveEnvironment = true
		if everySet {
			o.Interpolate.LookupValue = func(string) (string, bool) { return "INTERPOLATED", true }
		}
	})
}

// ReadFleet reads the fleet saved in an existing compose file: its name and x-magents.
// It returns (nil, nil) when the file does not exist.
func ReadFleet(path string) (*fleet.Fleet, error) {
	b, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s is not valid YAML: %w", path, err)
	}
	name, block := topLevel(&doc, "name"), topLevel(&doc, Extension)
	if block == nil {
		return nil, fmt.Errorf("%s has no %s block: it was not written by docker magents; give another file with -f", path, Extension)
	}
	f, err := fleet.DecodeSaved(block, path+": its "+Extension+" block", unescapeNode)
	if err != nil {
		return nil, err
	}
	f.Project, f.ComposeFile = "", path
	if name != nil {
		f.Project = name.Value
	}
	return f, nil
}

// topLevel is the value of key in a YAML document's top-level mapping, or nil.
func topLevel(doc *yaml.Node, key string) *yaml.Node {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil
	}
	m := doc.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}
