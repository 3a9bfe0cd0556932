package main

import (
	"context"
	"errors"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"

	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/k8s"
	"github.com/docker-magents/docker-magents/internal/termsafe"
)

// attachK8s attaches to the tmux session of the agent's pod, as
// kubectl exec -it PROJECT-agent-N -- tmux attach -t claude does.
func attachK8s(ctx context.Context, dockerCli command.Cli, root *rootOptions, agent string, opts attachOptions) error {
	f, _, err := root.fleetOrNew()
	if err != nil {
		return err
	}
	n, err := fleet.AgentNumber(agent)
	if err != nil {
		return err
	}
	c, err := k8s.Connect(opts.context, opts.namespace)
	if err != nil {
		return err
	}
	cmd := []string{"tmux", "attach-session", "-t", "claude"}
	if opts.readonly {
		cmd = append(cmd, "-r")
	}
	in, out := dockerCli.In(), dockerCli.Out()
	if err := in.SetRawTerminal(); err != nil {
		return err
	}
	defer in.RestoreTerminal()
	pod := f.PodName(n)
	// The pod's screen alone reaches the terminal, as for attach (termsafe.ScreenWriter).
	err = c.Exec(ctx, pod, "agent", cmd, in, termsafe.NewScreenWriter(out), nil, true, newTerminalSizes(ctx, dockerCli))
	if exit, ok := errors.AsType[*k8s.ExitError](err); ok {
		return cli.StatusError{StatusCode: exit.Code} // tmux's own exit code, as docker exec gives it
	}
	return err
}

// newTerminalSizes sends the terminal's size now and on every resize, until ctx ends.
func newTerminalSizes(ctx context.Context, dockerCli command.Cli) <-chan k8s.TerminalSize {
	ch := make(chan k8s.TerminalSize, 1)
	var last k8s.TerminalSize
	send := func() {
		h, w := dockerCli.Out().GetTtySize()
		size := k8s.TerminalSize{Width: uint16(w), Height: uint16(h)}
		if h > 0 && w > 0 && size != last {
			last = size
			select { // a size not yet taken is stale: this one replaces it
			case <-ch:
			default:
			}
			ch <- size // the only sender, and the buffer is empty
		}
	}
	send()
	resized, stop := terminalResizes()
	go func() {
		defer stop()
		for {
			select {
			case <-ctx.Done():
				close(ch)
				return
			case <-resized:
				send()
			}
		}
	}()
	return ch
}
