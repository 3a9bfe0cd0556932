package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	mobyclient "github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/images"
	"github.com/docker-magents/docker-magents/images/supervisor/agentstate"
	"github.com/docker-magents/docker-magents/internal/agentclone"
	"github.com/docker-magents/docker-magents/internal/agentexec"
	"github.com/docker-magents/docker-magents/internal/auth"
	"github.com/docker-magents/docker-magents/internal/buildkit"
	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/fleetstatus"
	"github.com/docker-magents/docker-magents/internal/format"
	"github.com/docker-magents/docker-magents/internal/shellout"
	"github.com/docker-magents/docker-magents/internal/termsafe"
	"github.com/docker-magents/docker-magents/internal/workspace"
)

type doctorOptions struct {
	format string
}

func doctorCmd(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	var opts doctorOptions
	cmd := &cobra.Command{
		Use:   "doctor [OPTIONS] [AGENT...]",
		Short: "Check the engine, BuildKit, compose, the image, auth and each agent, and say what to fix",
		Long: `Check, in order: the Docker engine, BuildKit, compose v2, the agent image and its Claude
Code version, the auth source (redacted), then for each agent (all, or those named): its
container and health, claude --version, the tmux session, a writable config dir and
workspace, its credential and environment (redacted), and its worktree.

Every failure says what to do. Exits 1 when any check fails.`,
		RunE: withArgs(func(ctx context.Context, args []string) error {
			return runDoctor(ctx, dockerCli, root, args, opts)
		}),
	}
	cmd.Flags().StringVar(&opts.format, "format", "table", format.Usage)
	return cmd
}

// doctorReport is doctor's JSON.
type doctorReport struct {
	OK     bool               `json:"OK"`
	Checks []agentstate.Check `json:"Checks"`
}

type checks struct{ list []agentstate.Check }

func (c *checks) add(scope, name string, status agentstate.CheckStatus, detail, fix string) {
	c.list = append(c.list, agentstate.Check{Scope: scope, Name: name, Status: status, Detail: detail, Fix: fix})
}

func (c *checks) failed() bool {
	return slices.ContainsFunc(c.list, func(ch agentstate.Check) bool { return ch.Status == agentstate.CheckFail })
}

func runDoctor(ctx context.Context, dockerCli command.Cli, root *rootOptions, agents []string, opts doctorOptions) error {
	fmtr, err := format.Parse(opts.format)
	if err != nil {
		return err
	}
	f, saved, err := root.fleetOrNew()
	if err != nil {
		return err
	}
	for i, a := range agents {
		if !saved {
			return errors.New("no fleet: " + root.file + " does not exist, so there is no " + a + ". Start one with 'docker magents up'")
		}
		if _, err := agentContainer(root, a); err != nil {
			return err
		}
		n, _ := fleet.AgentNumber(a)
		agents[i] = fleet.AgentName(n)
	}
	if len(agents) == 0 && saved {
		agents = f.AgentNames()
	}
	var c checks
	fleetChecks(ctx, dockerCli, f, &c)
	if !saved {
		c.add("fleet", "fleet", agentstate.CheckSkip, "no fleet in "+root.file, "start one: docker magents up")
	} else {
		engineUp := !slices.ContainsFunc(c.list, func(ch agentstate.Check) bool { return ch.Name == "engine" && ch.Status == agentstate.CheckFail })
		agentChecks(ctx, dockerCli, f, agents, engineUp, &c)
	}

	report := doctorReport{OK: !c.failed(), Checks: c.list}
	if err := format.Value(dockerCli.Out(), fmtr, report, func(w io.Writer) error { writeChecks(w, c.list); return nil }); err != nil {
		return err
	}
	if !report.OK {
		return cli.StatusError{StatusCode: 1, Status: "doctor found problems: see the fixes above"}
	}
	return nil
}

// fleetChecks are the checks of what every agent shares: engine, builder, compose, image
// and auth source. What depends on the engine is skipped when it cannot be reached.
func fleetChecks(ctx context.Context, dockerCli command.Cli, f *fleet.Fleet, c *checks) {
	api := dockerCli.Client()
	v, err := api.ServerVersion(ctx, mobyclient.ServerVersionOptions{})
	if err != nil {
		c.add("fleet", "engine", agentstate.CheckFail, firstLine(err.Error()),
			"start the Docker engine (systemctl start docker), or point the CLI at one: docker context use NAME, or DOCKER_HOST")
		for _, name := range []string{"buildkit", "image"} {
			c.add("fleet", name, agentstate.CheckSkip, "the engine cannot be reached", "")
		}
	} else {
		c.add("fleet", "engine", agentstate.CheckOK, fmt.Sprintf("Docker Engine %s (API %s) at %s", v.Version, v.APIVersion, dockerCli.DockerEndpoint().Host), "")
		if b, err := buildkit.Connect(ctx, api, ""); err != nil {
			c.add("fleet", "buildkit", agentstate.CheckFail, firstLine(err.Error()),
				"use an engine with BuildKit (18.09 or newer, not disabled by DOCKER_BUILDKIT=0 in daemon.json features), or a buildkitd: docker magents build --builder ADDR")
		} else {
			c.add("fleet", "buildkit", agentstate.CheckOK, b.Describe(ctx), "")
			b.Close()
		}
		imageCheck(ctx, api, f, c)
	}

	if comp, err := shellout.New(dockerCli).Compose(ctx); err != nil {
		c.add("fleet", "compose", agentstate.CheckFail, "docker compose v2 not found", firstLine(err.Error()))
	} else {
		c.add("fleet", "compose", agentstate.CheckOK, "Docker Compose "+comp.Version, "")
	}

	eff, err := effectiveCredential(dockerCli, f, nil)
	switch {
	case errors.Is(err, auth.ErrNoCredential):
		c.add("fleet", "auth", agentstate.CheckFail, "no credential for the agents",
			"docker magents auth setup (a token from 'claude setup-token', or an API key), then docker magents up")
	case err != nil:
		c.add("fleet", "auth", agentstate.CheckFail, firstLine(err.Error()), "docker magents auth setup")
	default:
		c.add("fleet", "auth", agentstate.CheckOK, eff.Describe(), "")
	}
}

func imageCheck(ctx context.Context, api mobyclient.APIClient, f *fleet.Fleet, c *checks) {
	img, err := api.ImageInspect(ctx, f.Image)
	switch {
	case errdefs.IsNotFound(err):
		c.add("fleet", "image", agentstate.CheckFail, f.Image+" is not in the engine's image store",
			"build it: docker magents build (or docker buildx bake), or pull it")
	case err != nil:
		c.add("fleet", "image", agentstate.CheckFail, firstLine(err.Error()), "")
	default:
		detail := f.Image
		if img.Config != nil {
			if v := img.Config.Labels[images.ClaudeVersionLabel]; v != "" {
				detail += ", Claude Code " + v
			}
		}
		c.add("fleet", "image", agentstate.CheckOK, detail, "")
	}
}

// agentChecks asks each agent's container, and its supervisor inside, how it is.
func agentChecks(ctx context.Context, dockerCli command.Cli, f *fleet.Fleet, agents []string, engineUp bool, c *checks) {
	var statuses []fleetstatus.AgentStatus
	if engineUp {
		var err error
		if statuses, err = fleetstatus.List(ctx, dockerCli.Client(), f, fleetstatus.Options{Live: true}); err != nil {
			c.add("fleet", "agents", agentstate.CheckFail, firstLine(err.Error()), "")
			return
		}
	}
	var repo *workspace.Repo
	if f.Isolation == workspace.Worktree {
		repo, _ = workspace.Open(f.Abs(f.Workspace))
	}
	for _, a := range agents {
		i := slices.IndexFunc(statuses, func(s fleetstatus.AgentStatus) bool { return s.Agent == a })
		switch {
		case !engineUp:
			c.add(a, "container", agentstate.CheckSkip, "the engine cannot be reached", "")
		case i < 0:
			c.add(a, "container", agentstate.CheckFail, "no container", "start the fleet: docker magents up")
		default:
			containerChecks(ctx, dockerCli.Client(), statuses[i], c)
		}
		if repo != nil {
			worktreeCheck(ctx, dockerCli, repo, f, a, c)
		}
	}
}

func containerChecks(ctx context.Context, api mobyclient.APIClient, s fleetstatus.AgentStatus, c *checks) {
	a := s.Agent
	if s.ContainerState != "running" {
		c.add(a, "container", agentstate.CheckFail, s.Container+" is "+s.ContainerState,
			"see why: docker magents logs "+a+"; start it again: docker magents up")
		return
	}
	state := string(s.State)
	if s.Detail != "" {
		state += ": " + s.Detail
	}
	switch {
	case s.Health == "unhealthy" || s.State == agentstate.Failed:
		c.add(a, "container", agentstate.CheckFail, s.Container+" is running, "+orDash(s.Health)+", "+state,
			"see the session: docker magents attach "+a+", and docker magents logs "+a)
	case s.State == agentstate.AuthRejected:
		c.add(a, "container", agentstate.CheckFail, s.Container+" is running; the model API refused its credential ("+s.Detail+")",
			"give the agents a valid credential: docker magents auth rotate")
	case len(s.Problems) > 0:
		c.add(a, "container", agentstate.CheckWarn, s.Container+" is running, "+orDash(s.Health)+", "+state+"; "+strings.Join(s.Problems, "; "),
			"see what the agent ran: docker magents logs "+a)
	default:
		c.add(a, "container", agentstate.CheckOK, s.Container+" is running, "+orDash(s.Health)+", "+state, "")
	}
	out, _, err := agentexec.Output(ctx, api, s.Container, "/usr/local/bin/magents-supervisor", "doctor")
	var inside []agentstate.Check
	if err == nil {
		err = json.Unmarshal(out, &inside)
		termsafe.Value(&inside) // the agent's supervisor, in the agent's reach, wrote it
	}
	if err != nil {
		c.add(a, "supervisor", agentstate.CheckFail, "cannot ask the agent's supervisor: "+firstLine(err.Error()),
			"the image predates 'magents-supervisor doctor': rebuild it (docker magents build) and run docker magents up")
		return
	}
	for _, ch := range inside {
		ch.Scope = a
		c.list = append(c.list, ch)
	}
}

func worktreeCheck(ctx context.Context, dockerCli command.Cli, repo *workspace.Repo, f *fleet.Fleet, a string, c *checks) {
	s, err := agentclone.Status(ctx, dockerCli, f, repo, a)
	switch {
	case err != nil:
		c.add(a, "worktree", agentstate.CheckFail, firstLine(err.Error()), "")
	case !s.Exists:
		c.add(a, "worktree", agentstate.CheckFail, fleet.WorktreeRel(a)+" is missing", "docker magents up creates it again on "+s.Branch)
	case s.Problem != "":
		c.add(a, "worktree", agentstate.CheckWarn, fleet.WorktreeRel(a)+" on "+s.Branch+": "+s.Summary(), "look at it from inside: docker magents exec "+a+" git status")
	default:
		c.add(a, "worktree", agentstate.CheckOK, fleet.WorktreeRel(a)+" on "+s.Branch+": "+s.Summary(), "")
	}
}

func writeChecks(w io.Writer, list []agentstate.Check) {
	scope := ""
	for _, ch := range list {
		if ch.Scope != scope {
			scope = ch.Scope
			if scope != "fleet" {
				fmt.Fprintf(w, "\n%s\n", scope)
			}
		}
		mark := map[agentstate.CheckStatus]string{
			agentstate.CheckOK: "[ok]  ", agentstate.CheckWarn: "[warn]", agentstate.CheckFail: "[FAIL]", agentstate.CheckSkip: "[skip]",
		}[ch.Status]
		fmt.Fprintf(w, "%s %-12s %s\n", mark, ch.Name, ch.Detail)
		if ch.Fix != "" && ch.Status != agentstate.CheckOK {
			fmt.Fprintf(w, "       %-12s → %s\n", "", strings.TrimSpace(ch.Fix))
		}
	}
}
