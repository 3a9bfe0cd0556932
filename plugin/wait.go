package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/images/supervisor/agentstate"
	"github.com/docker-magents/docker-magents/internal/fleetstatus"
)

type waitOptions struct {
	states   []string
	timeout  time.Duration
	interval time.Duration
}

func waitCmd(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	var opts waitOptions
	cmd := &cobra.Command{
		Use:   "wait [OPTIONS] [AGENT...]",
		Short: "Block until agents reach a state (by default: until none is starting or working)",
		Long: `Block until each agent (all when none is named) is in one of the --for states, then
print each agent and its state. Without --for, wait until no agent is starting or working.

Exits 1 when an agent ends up failed or auth-rejected (unless that is what --for asks
for), and 2 when --timeout passes first.`,
		Example: `  docker magents task agent-1 "Fix the failing test" && docker magents wait agent-1
  docker magents wait --for waiting --timeout 10m
  docker magents wait --for done,failed`,
		RunE: withArgs(func(ctx context.Context, args []string) error {
			return runWait(ctx, dockerCli, root, args, opts)
		}),
	}
	flags := cmd.Flags()
	flags.StringSliceVar(&opts.states, "for", nil, "States to wait for, comma-separated or repeated: "+stateNames())
	flags.DurationVar(&opts.timeout, "timeout", 0, "Give up after this long (0: wait as long as it takes)")
	flags.DurationVar(&opts.interval, "interval", 500*time.Millisecond, "How often to ask the agents")
	_ = flags.MarkHidden("interval")
	return cmd
}

func stateNames() string { return strings.Join(stateList(agentstate.States), ", ") }

// waitTarget is what wait waits for: the set of states that end the wait for an agent.
type waitTarget struct {
	want  []agentstate.State
	given bool // --for was given
}

func parseWaitTarget(names []string) (waitTarget, error) {
	if len(names) == 0 {
		return waitTarget{want: []agentstate.State{agentstate.Idle, agentstate.Waiting, agentstate.Done, agentstate.Failed, agentstate.AuthRejected}}, nil
	}
	t := waitTarget{given: true}
	for _, n := range names {
		s := agentstate.State(strings.TrimSpace(n))
		if !slices.Contains(agentstate.States, s) {
			return t, fmt.Errorf("invalid --for %q: the states are %s", n, stateNames())
		}
		t.want = append(t.want, s)
	}
	return t, nil
}

// reached reports whether an agent in state s is done waiting, and whether it failed.
func (t waitTarget) reached(s agentstate.State) (done, failed bool) {
	bad := s == agentstate.Failed || s == agentstate.AuthRejected
	if slices.Contains(t.want, s) {
		return true, bad && !t.given
	}
	// An agent that failed will not get anywhere else by itself: stop waiting for it.
	return bad, bad
}

func runWait(ctx context.Context, dockerCli command.Cli, root *rootOptions, agents []string, opts waitOptions) error {
	target, err := parseWaitTarget(opts.states)
	if err != nil {
		return err
	}
	f, err := root.loadFleet()
	if err != nil {
		return err
	}
	if len(agents) == 0 {
		agents = f.AgentNames()
	}
	for _, a := range agents {
		if _, err := agentContainer(root, a); err != nil {
			return err
		}
	}
	if opts.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, opts.timeout, errWaitTimeout)
		defer cancel()
	}
	pending := slices.Clone(agents)
	var failed []string
	last := map[string]agentstate.State{}
	for {
		statuses, err := fleetstatus.List(ctx, dockerCli.Client(), f, fleetstatus.Options{Live: true})
		if err != nil && ctx.Err() == nil {
			return err
		}
		byAgent := map[string]fleetstatus.AgentStatus{}
		for _, s := range statuses {
			byAgent[s.Agent] = s
		}
		pending = slices.DeleteFunc(pending, func(a string) bool {
			s, ok := byAgent[a]
			if !ok {
				last[a] = "" // not created (yet)
				return false
			}
			last[a] = s.State
			done, bad := target.reached(s.State)
			if done {
				line := a + "\t" + string(s.State)
				if s.Detail != "" {
					line += "\t" + s.Detail
				}
				fmt.Fprintln(dockerCli.Out(), line)
			}
			if bad {
				failed = append(failed, a+" is "+string(s.State))
			}
			return done
		})
		if len(pending) == 0 {
			break
		}
		if !sleepCtx(ctx, opts.interval) {
			if context.Cause(ctx) == errWaitTimeout {
				var where []string
				for _, a := range pending {
					where = append(where, a+" is "+orDash(string(last[a])))
				}
				return cli.StatusError{StatusCode: 2, Status: fmt.Sprintf("timed out after %s waiting for %s: %s",
					opts.timeout, strings.Join(stateList(target.want), " or "), strings.Join(where, ", "))}
			}
			return ctx.Err()
		}
	}
	if len(failed) > 0 {
		return cli.StatusError{StatusCode: 1, Status: strings.Join(failed, ", ") +
			": see docker magents logs AGENT, and docker magents doctor"}
	}
	return nil
}

var errWaitTimeout = errors.New("wait timed out")

func stateList(states []agentstate.State) []string {
	out := make([]string, len(states))
	for i, s := range states {
		out[i] = string(s)
	}
	return out
}
