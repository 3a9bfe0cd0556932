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
	into        string
	allowChange []string
}

func mergeCmd(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	var opts mergeOptions
	cmd := &cobra.Command{
		Use:   "merge [OPTIONS] AGENT|TASK-ID",
		Short: "Merge an agent's branch (or a queued task's) into yours on the host (fast-forward, else a merge commit)",
		Example: `  docker magents merge agent-1
  docker magents merge task-3 --allow-change .magentsinclude`,
		Long: `Merge the agent's branch (magents/agent-N), or a queued task's (magents/task-N), into
the checked-out branch, or --into BRANCH. A conflict aborts the merge and changes
nothing on either side.

What the agent committed is judged by its effect on your tree: a symlink that would
lead out of the repository or into .git (followed through the tree's other links), a
change to .gitattributes or .gitmodules (however spelt) is never merged here; a change
to a file read as instructions on the host (.magentsinclude, Claude Code's project
settings and .mcp.json, .envrc, .vscode tasks and settings, the devcontainer) is merged
only with --allow-change PATH.`,
		Args: cli.ExactArgs(1),
		RunE: withArgs(func(ctx context.Context, args []string) error {
			return runMerge(ctx, dockerCli, root, args[0], opts)
		}),
	}
	cmd.Flags().StringVar(&opts.into, "into", "", "Branch to merge into (checked out first)")
	cmd.Flags().StringArrayVar(&opts.allowChange, "allow-change", nil, "Merge the branch's change to this file read as instructions on the host (.magentsinclude, .claude/settings.json, .envrc…), which you have read")
	return cmd
}

func runMerge(ctx context.Context, dockerCli command.Cli, root *rootOptions, agent string, opts mergeOptions) error {
	repo, name, err := agentRepo(ctx, dockerCli, root, agent)
	if err != nil {
		return err
	}
	out, err := repo.Merge(name, workspace.MergeOptions{Into: opts.into, AllowChange: opts.allowChange})
	if err != nil {
		return err
	}
	fmt.Fprintln(dockerCli.Out(), out)
	fmt.Fprintf(dockerCli.Out(), "Merged %s.\n", workspace.Branch(name))
	return nil
}
