package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/internal/fleetruntime"
	"github.com/docker-magents/docker-magents/internal/fleetstatus"
	"github.com/docker-magents/docker-magents/internal/termsafe"
)

type logsOptions struct {
	follow  bool
	tail    string
	session int
	where   runtimeOptions
}

func logsCmd(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	var opts logsOptions
	cmd := &cobra.Command{
		Use:   "logs [OPTIONS] AGENT",
		Short: "Show an agent's container logs and its session (what Claude's terminal shows)",
		Example: `  docker magents logs agent-1
  docker magents logs -f agent-2
  docker magents logs --swarm --session-lines 0 agent-1`,
		Args: cli.ExactArgs(1),
		RunE: withArgs(func(ctx context.Context, args []string) error {
			return runLogs(ctx, dockerCli, root, args[0], opts)
		}),
	}
	cmd.Flags().BoolVarP(&opts.follow, "follow", "f", false, "Follow the container logs")
	cmd.Flags().StringVarP(&opts.tail, "tail", "n", "all", "Number of container log lines to show")
	cmd.Flags().IntVar(&opts.session, "session-lines", 200, "Lines of the session's history to show (0: none)")
	opts.where.addFlags(cmd.Flags())
	return cmd
}

func runLogs(ctx context.Context, dockerCli command.Cli, root *rootOptions, agent string, opts logsOptions) error {
	if opts.tail != "all" {
		if n, err := strconv.Atoi(opts.tail); err != nil || n < 0 {
			return fmt.Errorf("invalid --tail %q: give a number of lines, or all", opts.tail)
		}
	}
	_, rt, err := opts.where.open(dockerCli, root, fleetstatus.Options{})
	if err != nil {
		return err
	}
	if opts.session > 0 {
		fmt.Fprintf(dockerCli.Out(), "── %s: session claude (last %d lines) ──\n", agent, opts.session)
		out, stderr, code, err := rt.Exec(ctx, agent, nil, "tmux", "capture-pane", "-p", "-J", "-t", "claude", "-S", "-"+strconv.Itoa(opts.session))
		switch {
		case err != nil:
			fmt.Fprintf(dockerCli.Err(), "(no session to show: %v)\n", err)
		case code != 0:
			fmt.Fprintf(dockerCli.Err(), "(no session to show: %s)\n", termsafe.String(strings.TrimSpace(string(stderr))))
		}
		// The pane is as tall as its window: drop the blank rows below the last output.
		fmt.Fprintln(dockerCli.Out(), termsafe.String(strings.TrimRight(string(out), "\n ")))
		fmt.Fprintf(dockerCli.Out(), "── %s: container logs ──\n", agent)
	}
	// What the container printed is the agent's to write: shown, not obeyed.
	stdout, stderr := termsafe.NewWriter(dockerCli.Out()), termsafe.NewWriter(dockerCli.Err())
	err = rt.Logs(ctx, agent, fleetruntime.LogOptions{Follow: opts.follow, Tail: opts.tail}, stdout, stderr)
	_ = stdout.Flush()
	_ = stderr.Flush()
	return err
}
