package main

import (
	"context"
	"strings"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/internal/shellout"
)

func taskCmd(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	return &cobra.Command{
		Use:     "task AGENT TEXT...",
		Short:   "Give a running agent a task: typed into Claude's prompt once it is ready",
		Example: `  docker magents task agent-2 "Write tests for the parser"`,
		Args:    cli.RequiresMinArgs(2),
		RunE: withArgs(func(ctx context.Context, args []string) error {
			container, err := agentContainer(root, args[0])
			if err != nil {
				return err
			}
			cmd := shellout.New(dockerCli).Command(ctx, "exec", container, "magents-supervisor", "task", strings.Join(args[1:], " "))
			return shellout.Run(cmd)
		}),
	}
}
