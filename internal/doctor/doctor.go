// Package doctor is what `docker magents doctor` checks, in order: the engine, BuildKit,
// compose, the image and the auth source, then each agent's container and, asked inside,
// its supervisor, then its worktree. Every failed check says what to do. The plugin's
// doctor command imports it; nothing else does.
package doctor

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/containerd/errdefs"
	"github.com/docker/cli/cli/command"
	mobyclient "github.com/moby/moby/client"

	"github.com/docker-magents/docker-magents/images"
	"github.com/docker-magents/docker-magents/images/supervisor/agentstate"
	"github.com/docker-magents/docker-magents/internal/agentclone"
	"github.com/docker-magents/docker-magents/internal/agentexec"
	"github.com/docker-magents/docker-magents/internal/auth"
	"github.com/docker-magents/docker-magents/internal/buildkit"
	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/fleetstatus"
	"github.com/docker-magents/docker-magents/internal/shellout"
	"github.com/docker-magents/docker-magents/internal/termsafe"
	"github.com/docker-magents/docker-magents/internal/workspace"
)

// Report is doctor's JSON.
type Report struct {
	OK     bool               `json:"OK"`
	Checks []agentstate.Check `json:"Checks"`
}

// Input is what the checks look at.
type Input struct {
	Fleet *fleet.Fleet
	// Saved says the fleet has a record; without one there are no agents to check.
	Saved bool
	// File is where the record would be, named in the skip.
	File string
	// Agents are the agents to check, named agent-N.
	Agents []string
	// Credential is the credential the agents get on the next up.
	Credential func() (auth.Effective, error)
}

type checks struct{ list []agentstate.Check }

func (c *checks) add(scope, name string, status agentstate.CheckStatus, detail, fix string) {
	c.list = append(c.list, agentstate.Check{Scope: scope, Name: name, Status: status, Detail: detail, Fix: fix})
}

// Run runs every check; a check that cannot run for want of an earlier one is skipped.
func Run(ctx context.Context, dockerCli command.Cli, in Input) Report {
	var c checks
	fleetChecks(ctx, dockerCli, in, &c)
	if !in.Saved {
		c.add("fleet", "fleet", agentstate.CheckSkip, "no fleet in "+in.File, "start one: docker magents up")
	} else {
		engineUp := !slices.ContainsFunc(c.list, func(ch agentstate.Check) bool { return ch.Name == "engine" && ch.Status == agentstate.CheckFail })
		agentChecks(ctx, dockerCli, in.Fleet, in.Agents, engineUp, &c)
	}
	failed := slices.ContainsFunc(c.list, func(ch agentstate.Check) bool { return ch.Status == agentstate.CheckFail })
	return Report{OK: !failed, Checks: c.list}
}

// fleetChecks are the checks of what every agent shares: engine, builder, compose, image
// and auth source. What depends on the engine is skipped when it cannot be reached.
func fleetChecks(ctx context.Context, dockerCli command.Cli, in Input, c *checks) {
	f := in.Fleet
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
		if b, err := buildkit.Connect(ctx, api, buildkit.Endpoint{}); err != nil {
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

	if in.Saved && f.Isolation == workspace.Shared {
		switch changes, err := workspace.OpenedChanges(f); {
		case err != nil:
			c.add("fleet", "opened files", agentstate.CheckWarn, firstLine(err.Error()), "docker magents up")
		case len(changes) > 0:
			c.add("fleet", "opened files", agentstate.CheckWarn, fmt.Sprintf("%d file(s) that run code when the shared workspace is opened changed since up: %s",
				len(changes), strings.Join(changes, "; ")), "read them before your shell, git or editor opens the workspace; remove what you did not write")
		default:
			c.add("fleet", "opened files", agentstate.CheckOK, "nothing that runs code when the shared workspace is opened changed since up", "")
		}
	}
	eff, err := in.Credential()
	switch {
	case errors.Is(err, auth.ErrNoCredential):
		c.add("fleet", "auth", agentstate.CheckFail, "no credential for the agents",
			"docker magents auth setup (a token from 'claude setup-token', or an API key), then docker magents up")
	case err != nil:
		c.add("fleet", "auth", agentstate.CheckFail, firstLine(err.Error()), "docker magents auth setup")
	default:
		c.add("fleet", "auth", agentstate.CheckOK, eff.Describe(), "")
		if eff.Credential != nil {
			gatewayCheck(in.Fleet, eff.Credential.Var, c)
		}
	}
}

// gatewayCheck says whether the agents reach the model through the fleet's gateway (which
// alone holds the credential, counts usage and enforces budgets) or hold the credential of
// variable name themselves, and why.
func gatewayCheck(f *fleet.Fleet, name string, c *checks) {
	switch {
	case f.Egress != fleet.EgressAllowlist:
		c.add("fleet", "model-gateway", agentstate.CheckWarn, "open egress: each agent holds the credential itself; no usage is counted and no budget enforced",
			"docker magents up --egress allowlist")
	case !fleet.GatewayRelays(name):
		c.add("fleet", "model-gateway", agentstate.CheckWarn, "each agent holds the "+name+" itself: the gateway relays API keys and auth tokens only (whether the API takes a relayed OAuth token cannot be shown offline)",
			"to keep the credential out of the agents, give them an API key: docker magents up --api-key-file FILE")
	default:
		c.add("fleet", "model-gateway", agentstate.CheckOK, "the agents reach the model through the fleet's gateway, which alone holds the "+name+"; each agent has a token of its own", "")
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
		var err error
		if repo, err = workspace.Open(f.Abs(f.Workspace)); err != nil {
			c.add("fleet", "workspace", agentstate.CheckFail, firstLine(err.Error()), "")
		}
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
		c.add(a, "container", agentstate.CheckFail, s.Container+" is running, "+cmp.Or(s.Health, "-")+", "+state,
			"see the session: docker magents attach "+a+", and docker magents logs "+a)
	case s.State == agentstate.AuthRejected:
		c.add(a, "container", agentstate.CheckFail, s.Container+" is running; the model API refused its credential ("+s.Detail+")",
			"give the agents a valid credential: docker magents auth rotate")
	case len(s.Problems) > 0:
		c.add(a, "container", agentstate.CheckWarn, s.Container+" is running, "+cmp.Or(s.Health, "-")+", "+state+"; "+strings.Join(s.Problems, "; "),
			"see what the agent ran: docker magents logs "+a)
	default:
		c.add(a, "container", agentstate.CheckOK, s.Container+" is running, "+cmp.Or(s.Health, "-")+", "+state, "")
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

// WriteTable writes the checks for a terminal: grouped by scope, a fix under each failure.
func (r Report) WriteTable(w io.Writer) {
	scope := ""
	for _, ch := range r.Checks {
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

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}
