package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/images/supervisor/agentstate"
	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/fleetruntime/engine"
	"github.com/docker-magents/docker-magents/internal/fleetstatus"
)

type waitOptions struct {
	states   []string
	timeout  time.Duration
	interval time.Duration
	where    runtimeOptions
}

func waitCmd(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	var opts waitOptions
	cmd := &cobra.Command{
		Use:   "wait [OPTIONS] [AGENT...]",
		Short: "Block until agents reach a state (by default: until none is starting or working)",
		Long: `Block until each agent (all when none is named) is in one of the --for states, then
print each agent and its state. Without --for, wait until no agent is starting or working.

Exits 1 when an agent ends up failed, auth-rejected or budget-exceeded (unless that is what --for asks
for), and 2 when --timeout passes first.`,
		Example: `  docker magents task agent-1 "Fix the failing test" && docker magents wait agent-1
  docker magents wait --for waiting --timeout 10m
  docker magents wait --for done,failed
  docker magents wait --k8s --for idle     # the agents' pods in the cluster`,
		RunE: withArgs(func(ctx context.Context, args []string) error {
			return runWait(ctx, dockerCli, root, args, opts)
		}),
	}
	flags := cmd.Flags()
	flags.StringSliceVar(&opts.states, "for", nil, "States to wait for, comma-separated or repeated: "+agentstate.Join(agentstate.States, ", "))
	flags.DurationVar(&opts.timeout, "timeout", 0, "Give up after this long (0: wait as long as it takes)")
	flags.DurationVar(&opts.interval, "interval", 500*time.Millisecond, "How often to ask the agents")
	_ = flags.MarkHidden("interval")
	opts.where.addFlags(flags)
	return cmd
}

func runWait(ctx context.Context, dockerCli command.Cli, root *rootOptions, agents []string, opts waitOptions) error {
	target, err := agentstate.ParseTarget(opts.states)
	if err != nil {
		return err
	}
	f, rt, err := opts.where.open(dockerCli, root, fleetstatus.Options{Live: true})
	if err != nil {
		return err
	}
	remote := opts.where.deployed()
	switch {
	case len(agents) == 0 && remote:
		// A stack's or a cluster's agents are those deployed (deploy --agents), not the
		// compose file's.
		statuses, err := rt.Agents(ctx)
		if err != nil {
			return err
		}
		for _, s := range statuses {
			agents = append(agents, s.Agent)
		}
		if len(agents) == 0 {
			return fmt.Errorf("project %s has no agents deployed there: deploy them first (docker magents deploy %s --apply)", f.Project, map[bool]string{true: "swarm", false: "k8s"}[opts.where.swarm])
		}
	case len(agents) == 0:
		agents = f.AgentNames()
	}
	for _, a := range agents {
		if remote {
			if _, err := fleet.AgentNumber(a); err != nil {
				return err
			}
		} else if _, err := engine.Container(f, a); err != nil {
			return err
		}
	}
	if opts.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, opts.timeout, errWaitTimeout)
		defer cancel()
	}
	failed, pending, err := fleetstatus.Wait(ctx, rt.Agents, agents, target, opts.interval, func(s fleetstatus.AgentStatus) {
		line := s.Agent + "\t" + string(s.State)
		if s.Detail != "" {
			line += "\t" + s.Detail
		}
		fmt.Fprintln(dockerCli.Out(), line)
	})
	if context.Cause(ctx) == errWaitTimeout {
		var where []string
		for _, a := range slices.Sorted(maps.Keys(pending)) {
			where = append(where, a+" is "+orDash(string(pending[a])))
		}
		return cli.StatusError{StatusCode: 2, Status: fmt.Sprintf("timed out after %s waiting for %s: %s",
			opts.timeout, agentstate.Join(target.Want, " or "), strings.Join(where, ", "))}
	}
	if err != nil {
		return err
	}
	if len(failed) > 0 {
		return cli.StatusError{StatusCode: 1, Status: strings.Join(failed, ", ") +
			": see docker magents logs AGENT, and docker magents doctor"}
	}
	return nil
}

var errWaitTimeout = errors.New("wait timed out")
