package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/internal/shellout"
	"github.com/docker-magents/docker-magents/internal/termsafe"
)

type logsOptions struct {
	follow  bool
	tail    string
	session int
}

func logsCmd(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	var opts logsOptions
	cmd := &cobra.Command{
		Use:   "logs [OPTIONS] AGENT",
		Short: "Show an agent's container logs and its session (what Claude's terminal shows)",
		Example: `  docker magents logs agent-1
  docker magents logs -f agent-2`,
		Args: cli.ExactArgs(1),
		RunE: withArgs(func(ctx context.Context, args []string) error {
			return runLogs(ctx, dockerCli, root, args[0], opts)
		}),
	}
	cmd.Flags().BoolVarP(&opts.follow, "follow", "f", false, "Follow the container logs")
	cmd.Flags().StringVarP(&opts.tail, "tail", "n", "all", "Number of container log lines to show")
	cmd.Flags().IntVar(&opts.session, "session-lines", 200, "Lines of the session's history to show (0: none)")
	return cmd
}

func runLogs(ctx context.Context, dockerCli command.Cli, root *rootOptions, agent string, opts logsOptions) error {
	container, err := agentContainer(root, agent)
	if err != nil {
		return err
	}
	docker := shellout.New(dockerCli)
	if opts.session > 0 {
		fmt.Fprintf(dockerCli.Out(), "── %s: session claude (last %d lines) ──\n", agent, opts.session)
		cmd := docker.Command(ctx, "exec", container, "tmux", "capture-pane", "-p", "-J", "-t", "claude", "-S", "-"+strconv.Itoa(opts.session))
		cmd.Stdout = nil
		out, err := cmd.Output()
		if err != nil {
			fmt.Fprintf(dockerCli.Err(), "(no session to show: %v)\n", err)
		}
		// The pane is as tall as its window: drop the blank rows below the last output.
		fmt.Fprintln(dockerCli.Out(), termsafe.String(strings.TrimRight(string(out), "\n ")))
		fmt.Fprintf(dockerCli.Out(), "── %s: container logs ──\n", agent)
	}
	args := []string{"logs", "--tail", opts.tail}
	if opts.follow {
		args = append(args, "--follow")
	}
	// What the container printed is the agent's to write: shown, not obeyed.
	cmd := docker.Command(ctx, append(args, container)...)
	stdout, stderr := termsafe.NewWriter(dockerCli.Out()), termsafe.NewWriter(dockerCli.Err())
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err = shellout.Run(cmd)
	_ = stdout.Flush()
	_ = stderr.Flush()
	return err
}
