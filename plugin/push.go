package main

import (
	"context"
	"fmt"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/internal/workspace"
)

type pushOptions struct {
	remote string
}

func pushCmd(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	var opts pushOptions
	cmd := &cobra.Command{
		Use:   "push [OPTIONS] AGENT|TASK-ID",
		Short: "Push an agent's branch (or a queued task's) to a remote, with the fleet's git credentials",
		Long: `Push the agent's branch (magents/agent-N), or a queued task's (magents/task-N), to the
remote's branch of the same name. The push is made on this host, from your repository,
after the branch is fetched from the agent's clone as diff and merge do — never from
inside an agent — with the fleet's git credentials (up --git-credentials) and no other.
Only magents/ branches are pushed, and never forced: a remote branch that moved on is
refused by the remote.`,
		Example: `  docker magents push agent-2
  docker magents push task-7 --remote upstream`,
		Args: cli.ExactArgs(1),
		RunE: withArgs(func(ctx context.Context, args []string) error {
			return runPush(ctx, dockerCli, root, args[0], opts)
		}),
	}
	cmd.Flags().StringVar(&opts.remote, "remote", "origin", "The remote of your repository to push to")
	return cmd
}

func runPush(ctx context.Context, dockerCli command.Cli, root *rootOptions, arg string, opts pushOptions) error {
	f, err := root.loadFleet()
	if err != nil {
		return err
	}
	if f.Config.GitCredentials == "" {
		return fmt.Errorf("project %s has no git credentials to push with: give them with docker magents up --git-credentials FILE", f.Project)
	}
	repo, name, err := agentRepo(ctx, dockerCli, root, arg)
	if err != nil {
		return err
	}
	branch := workspace.Branch(name)
	if _, err := repo.Push(opts.remote, branch, f.Abs(f.Config.GitCredentials)); err != nil {
		return err
	}
	fmt.Fprintf(dockerCli.Out(), "Pushed %s to %s.\n", branch, opts.remote)
	return nil
}
