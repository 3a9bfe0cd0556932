package main

import (
	"context"
	"fmt"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/internal/workspace"
)

type mergeOptions struct {
	into string
}

func mergeCmd(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	var opts mergeOptions
	cmd := &cobra.Command{
		Use:   "merge [OPTIONS] AGENT|TASK-ID",
		Short: "Merge an agent's branch (or a queued task's) into yours on the host (fast-forward, else a merge commit)",
		Long: `Merge the agent's branch (magents/agent-N), or a queued task's (magents/task-N), into
the checked-out branch, or --into BRANCH. A conflict aborts the merge and changes
nothing on either side.`,
		Args: cli.ExactArgs(1),
		RunE: withArgs(func(ctx context.Context, args []string) error {
			return runMerge(ctx, dockerCli, root, args[0], opts)
		}),
	}
	cmd.Flags().StringVar(&opts.into, "into", "", "Branch to merge into (checked out first)")
	return cmd
}

func runMerge(ctx context.Context, dockerCli command.Cli, root *rootOptions, agent string, opts mergeOptions) error {
	repo, name, err := agentRepo(ctx, dockerCli, root, agent)
	if err != nil {
		return err
	}
	out, err := repo.Merge(name, opts.into)
	if err != nil {
		return err
	}
	fmt.Fprintln(dockerCli.Out(), out)
	fmt.Fprintf(dockerCli.Out(), "Merged %s.\n", workspace.Branch(name))
	return nil
}
