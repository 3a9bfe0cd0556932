package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/config"
	mobyclient "github.com/moby/moby/client"
	"github.com/moby/moby/client/pkg/versions"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/docker-magents/docker-magents/compose"
	"github.com/docker-magents/docker-magents/images"
	"github.com/docker-magents/docker-magents/images/supervisor/workqueue"
	"github.com/docker-magents/docker-magents/internal/atomicfile"
	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/fleetauth"
	"github.com/docker-magents/docker-magents/internal/fleetgateway"
	"github.com/docker-magents/docker-magents/internal/fleetqueue"
	"github.com/docker-magents/docker-magents/internal/fleetusage"
	"github.com/docker-magents/docker-magents/internal/sharedconfig"
	"github.com/docker-magents/docker-magents/internal/shellout"
	"github.com/docker-magents/docker-magents/internal/workspace"
)

type upOptions struct {
	agents         int
	image          string
	workspace      string
	envFile        string
	user           string
	memory         string
	cpus           float64
	pids           int
	egress         string
	allow          []string
	allowModel     bool
	ipv6           bool
	readOnlyRootfs bool
	docker         bool
	dev            bool
	noBuild        bool
	force          bool
	caCert         string
	// An explicit credential, the highest-precedence source: a file ("-" for stdin).
	apiKeyFile     string
	oauthTokenFile string
	authCheck      bool
	budgetUSD      float64
	fleetBudgetUSD float64
	gatewayAllow   []string
	isolation      string
	base           string
	includes       []string
	tasks          []string
	tasksFile      string
	headless       bool
	permissionMode string
	agentCmd       string
	// The shared agent config: files from outside the repository, and the git identity.
	claudeMD     string
	settings     string
	mcp          string
	commands     string
	gitUserName  string
	gitUserEmail string
	gitCreds     string
}

func upCmd(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	var opts upOptions
	cmd := &cobra.Command{
		Use:   "up [OPTIONS]",
		Short: "Write the fleet's compose file and start its agents",
		Long: `Write the compose file (default docker-compose.claude.yml) for N agents and start
them with docker compose, waiting until every agent is healthy.

Settings are saved in the file's x-magents block: a later 'up' keeps every setting
it is not given. Changing --agents only creates or removes the difference; an
agent's config volume is kept when it is removed (see 'docker magents ps --volumes').`,
		Example: `  docker magents up --agents 2
  docker magents up --agents 3 --memory 8g
  docker magents -p team-a -f team-a.yml up --workspace ../service`,
		Args: cli.NoArgs,
	}
	cmd.RunE = withSignals(func(ctx context.Context) error {
		return runUp(ctx, dockerCli, root, opts, cmd.Flags())
	})
	flags := cmd.Flags()
	flags.IntVar(&opts.agents, "agents", 1, fmt.Sprintf("Number of agents (1 to %d)", fleet.MaxAgents))
	flags.StringVar(&opts.image, "image", fleet.DefaultImage, "Agent image")
	flags.StringVar(&opts.workspace, "workspace", ".", "Directory mounted at /workspace in every agent")
	flags.StringVar(&opts.envFile, "env-file", fleet.DefaultEnvFile, "Env file shared by the agents (created if missing; no credentials)")
	flags.StringVarP(&opts.user, "user", "u", "", "UID:GID the agents run as (default: the workspace owner's, or 1000:1000 when that is root)")
	flags.StringVarP(&opts.memory, "memory", "m", fleet.DefaultMemory, "Memory limit of each agent")
	flags.Float64Var(&opts.cpus, "cpus", 0, "CPU limit of each agent (0: none)")
	flags.IntVar(&opts.pids, "pids", fleet.DefaultPids, "Process limit of each agent (-1: none)")
	flags.BoolVar(&opts.readOnlyRootfs, "read-only-rootfs", false, "Read-only root filesystem, with tmpfs for /tmp, the run dir and the home directory")
	flags.StringVar(&opts.egress, "egress", "", `Network egress: "allowlist" (only through the fleet's egress proxy, to allowlisted hosts; the default) or "open"`)
	flags.StringArrayVar(&opts.allow, "allow", nil, "With --egress allowlist, also allow this host name or wildcard domain (*.example.com), on 80 and 443 or on the port given (host:port); repeatable")
	flags.BoolVar(&opts.allowModel, "allow-model-endpoint", true, "With --egress allowlist, allow the env file's ANTHROPIC_BASE_URL (its host and port)")
	flags.StringVar(&opts.claudeMD, "claude-md", "", `A CLAUDE.md every agent gets as its user memory (besides the workspace's own); "" drops it`)
	flags.StringVar(&opts.settings, "settings", "", `Claude settings (JSON) every agent gets: its keys win over the agent's, the supervisor's hooks are added; "" drops them`)
	flags.StringVar(&opts.mcp, "mcp", "", `MCP servers (an .mcp.json) every agent gets in its user scope; "" drops them`)
	flags.StringVar(&opts.commands, "commands", "", `A directory of slash commands (*.md) every agent gets; "" drops them`)
	flags.StringVar(&opts.gitUserName, "git-user-name", "", "Author and committer name of the agents' commits (default: this host's git config user.name)")
	flags.StringVar(&opts.gitUserEmail, "git-user-email", "", "Author and committer email of the agents' commits (default: this host's git config user.email)")
	flags.StringVar(&opts.gitCreds, "git-credentials", "", `A git-credentials file (https://USER:TOKEN@HOST per line) whose tokens the fleet's gateway fetches and pushes with for the agents, which never hold them: copied into the gateway's secrets, never into env or the compose file; "" drops it`)
	flags.BoolVar(&opts.ipv6, "ipv6", false, "Give the fleet's networks IPv6 too (a /64 each from a ULA prefix of the project's own; the engine must filter IPv6: Engine 27+, or experimental and ip6tables in daemon.json)")
	flags.BoolVar(&opts.docker, "docker", false, "Mount the Docker socket into the agents (gives them root on this host: only for agents you trust)")
	flags.BoolVar(&opts.dev, "dev", false, "Also run the claude-agent-dev service (the dev image)")
	flags.BoolVar(&opts.noBuild, "no-build", false, "Do not build a missing agent image")
	flags.BoolVar(&opts.force, "force", false, "Overwrite a compose file that was edited by hand")
	flags.StringVar(&opts.caCert, "ca-cert", "", "Extra CA bundle for building a missing image (see 'docker magents build')")
	flags.StringVar(&opts.isolation, "isolation", "", `How agents share the workspace: "clone" (a private clone in each agent's volume on branch magents/agent-N, the host repository only read; the default in a git repository, at its top or below it), "worktree" (the same clone, in a directory of yours, .magents/worktrees/agent-N) or "shared" (the agents write the directory itself: your explicit choice, or the default outside a repository; a repository's git dir read-only)`)
	flags.StringVar(&opts.base, "base", "", "Ref new agent branches start from (default: HEAD)")
	flags.StringArrayVar(&opts.includes, "include", nil, "Untracked files to carry into each new clone or worktree (a gitignore-style pattern; also read from .magentsinclude)")
	flags.StringArrayVar(&opts.tasks, "task", nil, "A task for the next agent in order (repeat: agent-1, agent-2, …); typed into Claude once it is ready")
	flags.StringVar(&opts.permissionMode, "permission-mode", "", "Claude's permission mode in every agent: "+strings.Join(fleet.PermissionModes, ", ")+" (default: Claude's own)")
	flags.StringVar(&opts.agentCmd, "agent-cmd", "", `What runs in each agent's session instead of claude (a shell command line; e.g. "bash" for a load test)`)
	flags.BoolVar(&opts.headless, "headless", false, "Run each agent's task once with claude -p and report done or failed (see 'docker magents results')")
	flags.StringVar(&opts.tasksFile, "tasks", "", "File of tasks, one per line or a YAML list (agent-1 gets the first)")
	flags.BoolVar(&opts.authCheck, "auth-check", false, "Have each agent check its credential with the model API at every Claude start (shows auth-rejected at once)")
	flags.Float64Var(&opts.budgetUSD, "budget-usd", 0, "Each agent's spending limit in US dollars, enforced by the model gateway (0: none)")
	flags.Float64Var(&opts.fleetBudgetUSD, "fleet-budget-usd", 0, "The whole fleet's spending limit in US dollars, enforced by the model gateway (0: none)")
	flags.StringArrayVar(&opts.gatewayAllow, "gateway-allow", nil, "A server tool, request field or anthropic-beta the model gateway relays besides its own list: web_search, web_fetch, code_execution, mcp_servers, or a beta in full (repeat; --gateway-allow '' clears)")
	flags.StringVar(&opts.apiKeyFile, "api-key-file", "", `Give the agents the API key in this file ("-": stdin); overrides the stored one and the environment`)
	flags.StringVar(&opts.oauthTokenFile, "oauth-token-file", "", `Give the agents the token (from 'claude setup-token') in this file ("-": stdin)`)
	return cmd
}

func runUp(ctx context.Context, dockerCli command.Cli, root *rootOptions, opts upOptions, flags *pflag.FlagSet) error {
	path, err := root.composePath()
	if err != nil {
		return err
	}
	if err := atomicfile.CheckWritable(filepath.Dir(path)); err != nil {
		return fmt.Errorf("cannot write the compose file in %s: %w", filepath.Dir(path), err)
	}
	// The shared config's generation before this up: a new one is given to running agents,
	// whose containers compose does not recreate for a config's content.
	before, err := compose.ReadFleet(path)
	if err != nil {
		return err
	}
	// Check everything before touching the disk, then again under the project lock (another
	// up may have changed the file meanwhile): the engine first.
	ping, err := dockerCli.Client().Ping(ctx, mobyclient.PingOptions{NegotiateAPIVersion: true})
	if err != nil {
		return fmt.Errorf("no Docker engine answers (%w): start it, or choose one with --context or DOCKER_HOST; nothing was written", err)
	}
	startInterval := versions.GreaterThanOrEqualTo(ping.APIVersion, "1.44")
	c, err := shellout.New(dockerCli).Compose(ctx)
	if err != nil {
		return fmt.Errorf("%w; nothing was written", err)
	}
	f, err := upFleet(root, opts, flags)
	if err != nil {
		return err
	}
	f.HealthStartInterval = startInterval
	unlock, err := f.Lock()
	if err != nil {
		return err
	}
	defer unlock()
	if f, err = upFleet(root, opts, flags); err != nil {
		return err
	}
	f.HealthStartInterval = startInterval
	if err := checkRecord(root, f, opts, flags); err != nil {
		return err
	}
	if err := claimVolumes(ctx, dockerCli, f); err != nil {
		return err
	}
	flagCred, err := fleetauth.FileFlags(dockerCli, opts.apiKeyFile, opts.oauthTokenFile)
	if err != nil {
		return err
	}
	// The file stays where it is: masked from the agents, now and at every later up.
	for _, file := range []string{opts.apiKeyFile, opts.oauthTokenFile} {
		if rel := f.Rel(file); file != "" && file != "-" && !slices.Contains(f.CredentialFiles, rel) {
			f.CredentialFiles = append(f.CredentialFiles, rel)
		}
	}
	if f.Docker {
		fmt.Fprintf(dockerCli.Err(), "WARNING: the agents get the Docker socket (%s): whoever controls an agent is root on this host\n", fleet.DockerSocket)
	}
	if err := compose.PrepareEnvFile(f.Abs(f.EnvFile)); err != nil {
		return err
	}
	if err := fleetauth.Share(dockerCli, f, flagCred); err != nil {
		return err
	}
	if err := f.WriteAgentKey(); err != nil {
		return fmt.Errorf("making the fleet's key: %w", err)
	}
	if f.HasBudgets() {
		if err := fleetusage.NoGateway(f); err != nil {
			return fmt.Errorf("--budget-usd and --fleet-budget-usd are enforced by the model gateway, and %w; nothing was written", err)
		}
	}
	switch {
	case f.ModelGateway():
		fmt.Fprintf(dockerCli.Err(), "Model: through the fleet's gateway, which alone holds the %s (each agent has a token of its own; see docker magents usage)\n", f.Credential)
	case f.Egress == fleet.EgressAllowlist && f.Credential != "":
		fmt.Fprintf(dockerCli.Err(), "note: each agent holds the %s itself: the model gateway (usage, budgets) relays API keys and auth tokens only\n", f.Credential)
	}
	if err := f.WriteGitCredentials(); err != nil {
		return err
	}
	if err := relayedRemotes(f, dockerCli.Err()); err != nil {
		return err
	}
	content, err := compose.Render(ctx, f)
	if err != nil {
		return err
	}
	// What the agents are given is made first: an include refused (a symlink out of the
	// repository) leaves the file as it was.
	if err := workspace.PrepareAgents(f, dockerCli.Err()); err != nil {
		return err
	}
	if err := f.MakeEgressSocketDirs(); err != nil {
		return err
	}
	if err := atomicfile.Write(path, content, 0o644); err != nil {
		return err
	}
	if err := f.WriteRecord(recordsDir(), content); err != nil {
		return err
	}
	if err := f.IgnoreStateDir(); err != nil {
		fmt.Fprintf(dockerCli.Err(), "warning: could not add %s/ and the env file to .gitignore: %v\n", fleet.StateDirName, err)
	}

	if !opts.noBuild {
		if err := buildMissingImages(ctx, dockerCli, f, opts); err != nil {
			return err
		}
	}
	if err := shellout.Run(c.Command(ctx, path, f.Project, composeArgs(f, "up", "-d", "--wait", "--remove-orphans")...)); err != nil {
		return fmt.Errorf("starting the agents: %w\nSee 'docker magents ps' and 'docker magents logs AGENT'", err)
	}
	if len(f.ConfigSet) > 0 && before != nil && before.Config.Generation != f.Config.Generation {
		if err := sharedconfig.Push(ctx, dockerCli.Client(), dockerCli.Out(), f, f.AgentNames(), false); err != nil {
			return fmt.Errorf("giving the running agents the changed shared config: %w\nRun docker magents config sync to try again", err)
		}
	}
	if len(f.Queued) > 0 {
		tasks := make([]workqueue.NewTask, len(f.Queued))
		for i, p := range f.Queued {
			tasks[i] = workqueue.NewTask{Prompt: p}
		}
		added, err := fleetqueue.Add(ctx, fleetgateway.Find(ctx, dockerCli.Client(), f), f, tasks)
		if err != nil {
			return fmt.Errorf("queueing the tasks beyond one per agent: %w\nAdd them with docker magents queue add --file", err)
		}
		fmt.Fprintf(dockerCli.Out(), "%d more task(s) queued, %s to %s: the agents take them as they go idle (docker magents queue ls)\n", len(added), added[0].ID, added[len(added)-1].ID)
	}
	fmt.Fprintf(dockerCli.Out(), "%d agent(s) of project %s are healthy. Attach: docker magents attach agent-1 (detach with C-b d)\n", f.Agents, f.Project)
	return nil
}

// checkRecord refuses to go on from a compose file that is not what docker magents last
// wrote (an agent may share its directory) unless --force; and, even then, to take from it
// a setting that widens what the agents reach: each must be given again on the command
// line. The trusted settings are those recorded, or, with no record on this machine, those
// of a new project with the same flags.
func checkRecord(root *rootOptions, f *fleet.Fleet, opts upOptions, flags *pflag.FlagSet) error {
	rec, err := fleet.ReadRecord(recordsDir(), f.ComposeFile)
	if err != nil {
		return err
	}
	why, err := fleet.Unrecorded(rec, f.ComposeFile)
	if err != nil || why == "" {
		return err
	}
	if !opts.force {
		return fmt.Errorf("%s: %s. Keep your own changes in another compose file (docker compose -f %s -f yours.yml …), "+
			"or run 'docker magents up --force' to write it anew", root.file, why, root.file)
	}
	var trusted map[string]string
	if rec != nil {
		trusted = rec.Privileged
	} else {
		fresh := fleet.New(f.Project, f.ComposeFile)
		if err := applyUpFlags(fresh, opts, flags, true); err != nil {
			return err
		}
		trusted = fresh.Privileged()
	}
	if changes := f.PrivilegeChanges(trusted, flags.Changed); len(changes) > 0 {
		return fmt.Errorf("%s: %s, and it widens what the agents reach:\n  %s\n"+
			"Such a setting is never taken from a file changed behind docker magents' back (an agent may have written it): "+
			"give each of these flags with the value you want", root.file, why, strings.Join(changes, "\n  "))
	}
	return nil
}

// upFleet is the fleet `up` will write: the saved one (or a new one) with the flags applied.
func upFleet(root *rootOptions, opts upOptions, flags *pflag.FlagSet) (*fleet.Fleet, error) {
	f, saved, err := root.fleetOrNew()
	if err != nil {
		return nil, err
	}
	if err := applyUpFlags(f, opts, flags, !saved); err != nil {
		return nil, err
	}
	return f, nil
}

// applyUpFlags sets what the user gave; a flag left out keeps its saved value.
func applyUpFlags(f *fleet.Fleet, opts upOptions, flags *pflag.FlagSet, newProject bool) error {
	if flags.Changed("agents") {
		f.Agents = opts.agents
	}
	if flags.Changed("image") {
		f.Image = opts.image
	}
	if flags.Changed("memory") {
		f.Memory = opts.memory
	}
	if flags.Changed("cpus") {
		f.CPUs = opts.cpus
	}
	if flags.Changed("pids") {
		f.Pids = opts.pids
	}
	if flags.Changed("read-only-rootfs") {
		f.ReadOnlyRootfs = opts.readOnlyRootfs
	}
	if flags.Changed("docker") {
		f.Docker = opts.docker
	}
	f.DockerGID = ""
	if f.Docker {
		f.DockerGID = workspace.GroupOf(fleet.DockerSocket)
	}
	if flags.Changed("egress") {
		f.Egress = opts.egress
	}
	if flags.Changed("allow") {
		f.Allow = opts.allow
	}
	if flags.Changed("allow-model-endpoint") {
		f.DenyModelEndpoint = !opts.allowModel
	}
	if flags.Changed("ipv6") {
		f.IPv6 = opts.ipv6
	}
	if flags.Changed("dev") {
		f.Dev = opts.dev
	}
	if flags.Changed("auth-check") {
		f.AuthCheck = opts.authCheck
	}
	if flags.Changed("budget-usd") {
		f.BudgetUSD = opts.budgetUSD
	}
	if flags.Changed("fleet-budget-usd") {
		f.FleetBudgetUSD = opts.fleetBudgetUSD
	}
	if flags.Changed("gateway-allow") {
		f.GatewayAllow = slices.DeleteFunc(slices.Clone(opts.gatewayAllow), func(s string) bool { return s == "" })
	}
	if flags.Changed("headless") {
		f.Headless = opts.headless
	}
	if flags.Changed("agent-cmd") {
		f.AgentCmd = opts.agentCmd
	}
	if flags.Changed("permission-mode") {
		f.PermissionMode = opts.permissionMode
	}
	if flags.Changed("base") {
		f.Base = opts.base
	}
	if flags.Changed("include") {
		f.Includes = opts.includes
	}
	switch {
	case flags.Changed("task") && flags.Changed("tasks"):
		return errors.New("give tasks with --task or with --tasks FILE, not both")
	case flags.Changed("task"):
		f.Tasks = opts.tasks
	case flags.Changed("tasks"):
		b, err := os.ReadFile(opts.tasksFile)
		if err != nil {
			return fmt.Errorf("--tasks: %w", err)
		}
		if f.Tasks, err = fleet.ParseTasks(b); err != nil {
			return fmt.Errorf("--tasks %s: %w", opts.tasksFile, err)
		}
	}
	if (flags.Changed("task") || flags.Changed("tasks")) && len(f.Tasks) > f.Agents && fleetqueue.NoQueue(f) == nil {
		// One for each agent at its start; the fleet's work queue takes the rest.
		f.Tasks, f.Queued = f.Tasks[:f.Agents], f.Tasks[f.Agents:]
	}
	if flags.Changed("env-file") {
		f.EnvFile = f.Rel(opts.envFile)
	}
	if flags.Changed("workspace") {
		f.Workspace = f.Rel(opts.workspace)
	}
	ws := f.Abs(f.Workspace)
	st, err := os.Stat(ws)
	var want string
	if err != nil || !st.IsDir() {
		return fmt.Errorf("workspace %s does not exist or is not a directory: give an existing directory with --workspace", ws)
	}
	switch {
	case flags.Changed("user"):
		f.User = opts.user
	case newProject || flags.Changed("workspace"):
		f.User = workspace.Owner(st)
	}
	if flags.Changed("isolation") {
		if want, err = fleet.ParseIsolation(opts.isolation); err != nil {
			return err
		}
	}
	if err := workspace.SetIsolation(f, ws, want, newProject || flags.Changed("workspace")); err != nil {
		return err
	}
	applyConfigFlags(f, opts, flags, newProject)
	if err := f.Validate(); err != nil {
		return err
	}
	if err := f.LoadConfigSet(time.Now()); err != nil {
		return err
	}
	return workspace.CheckAgentsCanWrite(f, ws)
}

// applyConfigFlags sets the shared agent config's files (paths as given: relative to the
// current directory, saved relative to the compose file's) and the git identity, which a
// new project takes from this host's git config.
func applyConfigFlags(f *fleet.Fleet, opts upOptions, flags *pflag.FlagSet, newProject bool) {
	for flag, dst := range map[string]*string{
		"claude-md": &f.Config.ClaudeMD, "settings": &f.Config.Settings, "mcp": &f.Config.MCP, "commands": &f.Config.Commands,
		"git-credentials": &f.Config.GitCredentials,
	} {
		if !flags.Changed(flag) {
			continue
		}
		v, _ := flags.GetString(flag)
		*dst = f.Rel(v)
	}
	if flags.Changed("git-user-name") {
		f.Config.GitUserName = opts.gitUserName
	} else if newProject {
		f.Config.GitUserName = workspace.HostGitConfig("user.name")
	}
	if flags.Changed("git-user-email") {
		f.Config.GitUserEmail = opts.gitUserEmail
	} else if newProject {
		f.Config.GitUserEmail = workspace.HostGitConfig("user.email")
	}
}

// composeArgs are args for compose on the fleet, with compose's .env never read: an agent
// may write the directory of the compose file (shared isolation), and since every value
// docker magents writes is literal, .env could only reach COMPOSE_* settings — a file an
// agent made must not. The empty mask file stands in for it.
func composeArgs(f *fleet.Fleet, args ...string) []string {
	return append([]string{"--env-file", f.MaskFile()}, args...)
}

// buildMissingImages builds the agent images the fleet needs and the engine lacks, when
// they are this project's own (magents/claude-agent:TARGET).
func buildMissingImages(ctx context.Context, dockerCli command.Cli, f *fleet.Fleet, opts upOptions) error {
	wanted := []string{f.Image}
	if f.Dev {
		wanted = append(wanted, fleet.DefaultDevImage)
	}
	var targets []string
	for _, ref := range wanted {
		if _, err := dockerCli.Client().ImageInspect(ctx, ref); err == nil {
			continue
		}
		target, ok := strings.CutPrefix(ref, images.Repository+":")
		if !ok {
			continue // someone else's image: compose pulls it
		}
		if _, err := images.NewTarget(target); err != nil {
			return fmt.Errorf("image %s is missing and is not one docker magents builds: %w", ref, err)
		}
		targets = append(targets, target)
	}
	if len(targets) == 0 {
		return nil
	}
	fmt.Fprintf(dockerCli.Err(), "Building the missing image target(s) %s…\n", strings.Join(targets, ", "))
	bopts := buildOptions{targets: targets, progress: "auto", caCert: opts.caCert}
	resolved, err := resolveTargets(bopts)
	if err != nil {
		return err
	}
	return buildTargets(ctx, dockerCli, resolved, bopts)
}

// relayedRemotes finds the remotes the gateway's git relay serves the agents
// (fleet.GitRemotes) and says what the agents' git reaches.
func relayedRemotes(f *fleet.Fleet, w io.Writer) error {
	f.GitRemotes = nil
	if f.Config.GitCredentials == "" {
		return nil
	}
	creds, err := os.ReadFile(f.Abs(f.Config.GitCredentials))
	if err != nil {
		return fmt.Errorf("reading the git credentials: %w", err)
	}
	if repo, err := workspace.Open(f.Abs(f.Workspace)); err == nil && repo != nil {
		if f.GitRemotes, err = repo.RelayedRemotes(creds); err != nil {
			return err
		}
	}
	if len(f.GitRemotes) == 0 {
		fmt.Fprintln(w, "note: no https remote of this repository has a line in the git credentials: the agents' git reaches no remote (queue add --push and docker magents push still push)")
		return nil
	}
	fmt.Fprintf(w, "Git: the agents reach %s through the fleet's gateway, which alone holds the git credentials; each pushes only its own magents/ branch or its task's, never forced, never a delete\n", strings.Join(f.GitRemotes, ", "))
	return nil
}

// claimVolumes refuses an up whose project's volumes belong to another fleet (another
// checkout's compose file, with the same project name), and records this fleet as the
// owner of its project's volumes. Volumes made before owners were recorded are taken
// over, with a note.
func claimVolumes(ctx context.Context, dockerCli command.Cli, f *fleet.Fleet) error {
	owner, err := fleet.ReadOwner(config.Dir(), f.Project)
	if err != nil {
		return err
	}
	vols, err := dockerCli.Client().VolumeList(ctx, mobyclient.VolumeListOptions{
		Filters: make(mobyclient.Filters).Add("label", fleet.ComposeProjectLabel+"="+f.Project),
	})
	if err != nil {
		return fmt.Errorf("listing project %s's volumes: %w", f.Project, err)
	}
	var names []string
	for _, v := range vols.Items {
		names = append(names, v.Name)
	}
	slices.Sort(names)
	switch {
	case owner != nil && owner.ComposeFile == f.ComposeFile:
		return nil
	case owner != nil && len(names) > 0:
		return f.OwnerMismatch(owner, names)
	case owner == nil && len(names) > 0:
		fmt.Fprintf(dockerCli.Err(), "note: project %s has volumes made before docker-magents recorded which checkout they serve; this fleet (%s) takes them\n", f.Project, f.ComposeFile)
	}
	return f.WriteOwner(config.Dir())
}
