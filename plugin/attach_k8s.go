package main

import (
	"context"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/docker/cli/cli/command"
	"k8s.io/client-go/tools/remotecommand"

	"github.com/docker-magents/docker-magents/internal/deploy"
	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/k8s"
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
	pod := deploy.K8sName(f.Project) + "-" + strconv.Itoa(n)
	return c.Exec(ctx, pod, "agent", cmd, in, out, nil, true, newTerminalSizes(ctx, dockerCli))
}

// terminalSizes reports the terminal's size now and on every resize (SIGWINCH).
type terminalSizes struct {
	ch chan remotecommand.TerminalSize
}

func newTerminalSizes(ctx context.Context, dockerCli command.Cli) *terminalSizes {
	q := &terminalSizes{ch: make(chan remotecommand.TerminalSize, 1)}
	send := func() {
		h, w := dockerCli.Out().GetTtySize()
		if h > 0 && w > 0 {
			select {
			case q.ch <- remotecommand.TerminalSize{Width: uint16(w), Height: uint16(h)}:
			default:
			}
		}
	}
	send()
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	go func() {
		defer signal.Stop(winch)
		for {
			select {
			case <-ctx.Done():
				close(q.ch)
				return
			case <-winch:
				send()
			}
		}
	}()
	return q
}

func (q *terminalSizes) Next() *remotecommand.TerminalSize {
	s, ok := <-q.ch
	if !ok {
		return nil
	}
	return &s
}
