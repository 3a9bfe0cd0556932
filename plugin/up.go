package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/tonistiigi/fsutil"

	"github.com/docker-magents/docker-magents/images"
	"github.com/docker-magents/docker-magents/internal/agentimage"
	"github.com/docker-magents/docker-magents/internal/buildkit"
	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/fleetauth"
	"github.com/docker-magents/docker-magents/internal/fleetops"
)

type upOptions struct {
	agents         int
	image          string
	devcontainer   string
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
	flags.StringVar(&opts.image, "image", fleet.DefaultImage, "Agent image (instead of one built from the project's devcontainer)")
	flags.StringVar(&opts.devcontainer, "devcontainer", "", `The project's devcontainer the agents' image is built from: a NAME of .devcontainer/NAME/, a path, or "none" (default: the one the workspace has, for a new project)`)
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
	settings, err := upSettings(opts, flags)
	if err != nil {
		return err
	}
	cred, err := fleetauth.FileFlags(dockerCli, opts.apiKeyFile, opts.oauthTokenFile)
	if err != nil {
		return err
	}
	req := fleetops.UpRequest{
		ComposeFile: path, Project: root.projectName(), Settings: settings,
		Credential: cred, CredentialFiles: []string{opts.apiKeyFile, opts.oauthTokenFile},
		Force: opts.force, Log: dockerCli.Err(),
	}
	if !opts.noBuild {
		req.BuildMissing = func(ctx context.Context, f *fleet.Fleet, plan *agentimage.Plan) error {
			return buildMissingImages(ctx, dockerCli, f, plan, opts)
		}
	}
	res, err := fleetops.New(dockerCli).Up(ctx, req)
	if mismatch, ok := errors.AsType[*fleetops.ProjectMismatch](err); ok {
		return root.mismatch(mismatch)
	}
	if err != nil {
		return err
	}
	if q := res.Queued; len(q) > 0 {
		fmt.Fprintf(dockerCli.Out(), "%d more task(s) queued, %s to %s: the agents take them as they go idle (docker magents queue ls)\n", len(q), q[0].ID, q[len(q)-1].ID)
	}
	fmt.Fprintf(dockerCli.Out(), "%d agent(s) of project %s are healthy. Attach: docker magents attach agent-1 (detach with C-b d)\n", res.Fleet.Agents, res.Fleet.Project)
	return nil
}

// upSettings are the settings up's flags give: those the user gave, each as given.
func upSettings(opts upOptions, flags *pflag.FlagSet) (fleetops.Settings, error) {
	var s fleetops.Settings
	given := func(name string) bool { return flags.Changed(name) }
	if given("task") && given("tasks") {
		return s, errors.New("give tasks with --task or with --tasks FILE, not both")
	}
	s.Agents = valueIf(given("agents"), opts.agents)
	s.Image = valueIf(given("image"), opts.image)
	s.Devcontainer = valueIf(given("devcontainer"), opts.devcontainer)
	s.Memory = valueIf(given("memory"), opts.memory)
	s.CPUs = valueIf(given("cpus"), opts.cpus)
	s.Pids = valueIf(given("pids"), opts.pids)
	s.ReadOnlyRootfs = valueIf(given("read-only-rootfs"), opts.readOnlyRootfs)
	s.Docker = valueIf(given("docker"), opts.docker)
	s.Egress = valueIf(given("egress"), opts.egress)
	s.Allow = valueIf(given("allow"), opts.allow)
	s.AllowModelEndpoint = valueIf(given("allow-model-endpoint"), opts.allowModel)
	s.IPv6 = valueIf(given("ipv6"), opts.ipv6)
	s.Dev = valueIf(given("dev"), opts.dev)
	s.AuthCheck = valueIf(given("auth-check"), opts.authCheck)
	s.BudgetUSD = valueIf(given("budget-usd"), opts.budgetUSD)
	s.FleetBudgetUSD = valueIf(given("fleet-budget-usd"), opts.fleetBudgetUSD)
	s.GatewayAllow = valueIf(given("gateway-allow"), opts.gatewayAllow)
	s.Headless = valueIf(given("headless"), opts.headless)
	s.AgentCmd = valueIf(given("agent-cmd"), opts.agentCmd)
	s.PermissionMode = valueIf(given("permission-mode"), opts.permissionMode)
	s.Base = valueIf(given("base"), opts.base)
	s.Includes = valueIf(given("include"), opts.includes)
	s.Tasks = valueIf(given("task"), opts.tasks)
	if given("tasks") {
		b, err := os.ReadFile(opts.tasksFile)
		if err != nil {
			return s, fmt.Errorf("--tasks: %w", err)
		}
		tasks, err := fleet.ParseTasks(b)
		if err != nil {
			return s, fmt.Errorf("--tasks %s: %w", opts.tasksFile, err)
		}
		s.Tasks = &tasks
	}
	s.EnvFile = valueIf(given("env-file"), opts.envFile)
	s.Workspace = valueIf(given("workspace"), opts.workspace)
	s.User = valueIf(given("user"), opts.user)
	s.Isolation = valueIf(given("isolation"), opts.isolation)
	s.ClaudeMD = valueIf(given("claude-md"), opts.claudeMD)
	s.ClaudeSettings = valueIf(given("settings"), opts.settings)
	s.MCP = valueIf(given("mcp"), opts.mcp)
	s.Commands = valueIf(given("commands"), opts.commands)
	s.GitCredentials = valueIf(given("git-credentials"), opts.gitCreds)
	s.GitUserName = valueIf(given("git-user-name"), opts.gitUserName)
	s.GitUserEmail = valueIf(given("git-user-email"), opts.gitUserEmail)
	return s, nil
}

// valueIf is &v when the flag was given, else nil (the saved value stays).
func valueIf[T any](given bool, v T) *T {
	if !given {
		return nil
	}
	return &v
}

// buildMissingImages builds the agent images the fleet needs and the engine lacks, when
// they are this project's own (magents/claude-agent:TARGET).
func buildMissingImages(ctx context.Context, dockerCli command.Cli, f *fleet.Fleet, plan *agentimage.Plan, opts upOptions) error {
	var wanted []string
	switch {
	case plan == nil:
		wanted = append(wanted, f.Image)
	case !imageExists(ctx, dockerCli, plan.Tag):
		if err := buildDevcontainerImage(ctx, dockerCli, plan, buildOptions{progress: "auto", caCert: opts.caCert}); err != nil {
			return err
		}
	}
	if f.Dev {
		wanted = append(wanted, fleet.DefaultDevImage)
	}
	var targets []string
	for _, ref := range wanted {
		if imageExists(ctx, dockerCli, ref) {
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

func imageExists(ctx context.Context, dockerCli command.Cli, ref string) bool {
	_, err := dockerCli.Client().ImageInspect(ctx, ref)
	return err == nil
}

// buildDevcontainerImage builds the agents' image from the project's devcontainer: its
// Dockerfile first, when it has one, then the agent's layer on its base.
func buildDevcontainerImage(ctx context.Context, dockerCli command.Cli, plan *agentimage.Plan, opts buildOptions) error {
	fmt.Fprintf(dockerCli.Err(), "Building the agents' image %s from the devcontainer %s…\n", plan.Tag, plan.File)
	if b := plan.Base; b != nil && !imageExists(ctx, dockerCli, b.Tag) {
		context, err := fsutil.NewFS(b.Context)
		if err != nil {
			return err
		}
		dockerfileDir, err := fsutil.NewFS(filepath.Dir(b.Dockerfile))
		if err != nil {
			return err
		}
		mode, err := buildkit.ParseProgress(opts.progress)
		if err != nil {
			return err
		}
		builder, err := connectBuilder(ctx, dockerCli, opts)
		if err != nil {
			return err
		}
		defer builder.Close()
		req := buildkit.Request{
			Context: context, DockerfileDir: dockerfileDir, Dockerfile: filepath.Base(b.Dockerfile),
			Target: b.Target, Args: b.Args, Tags: []string{b.Tag},
		}
		withRegistryAuth(dockerCli, &req)
		if err := builder.Build(ctx, req, mode, dockerCli.Err()); err != nil {
			return fmt.Errorf("building the devcontainer's Dockerfile %s: %w", b.Dockerfile, err)
		}
	}
	t, err := plan.Target("", "")
	if err != nil {
		return err
	}
	return buildTargets(ctx, dockerCli, []*images.Target{t}, opts)
}
