package main

import (
	"context"
	"errors"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/shellout"
)

func execCmd(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "exec AGENT -- COMMAND [ARG...]",
		Short:   "Run a command in an agent's workspace, as the agent's user",
		Example: `  docker magents exec agent-2 -- git status`,
		Args:    cli.RequiresMinArgs(2),
		RunE: withArgs(func(ctx context.Context, args []string) error {
			command := args[1:]
			if len(command) > 0 && command[0] == "--" {
				command = command[1:]
			}
			if len(command) == 0 {
				return errors.New("no command given: docker magents exec AGENT -- COMMAND [ARG...]")
			}
			return runExec(ctx, dockerCli, root, args[0], command)
		}),
	}
	cmd.Flags().SetInterspersed(false)
	return cmd
}

func runExec(ctx context.Context, dockerCli command.Cli, root *rootOptions, agent string, command []string) error {
	container, err := agentContainer(root, agent)
	if err != nil {
		return err
	}
	args := []string{"exec", "-i", "-w", fleet.WorkspaceDir}
	if dockerCli.In().IsTerminal() && dockerCli.Out().IsTerminal() {
		args = append(args, "-t")
	}
	cmd := shellout.New(dockerCli).Command(ctx, append(append(args, container), command...)...)
	if err := cmd.Run(); err != nil {
		// Pass the command's own exit code through, as docker exec does.
		if code := cmd.ProcessState.ExitCode(); code > 0 {
			return cli.StatusError{StatusCode: code}
		}
		return err
	}
	return nil
}
