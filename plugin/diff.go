package main

import (
	"context"
	"fmt"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/internal/agentclone"
	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/workspace"
)

type diffOptions struct {
	stat bool
}

func diffCmd(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	var opts diffOptions
	cmd := &cobra.Command{
		Use:   "diff [OPTIONS] AGENT",
		Short: "Show what an agent's branch changed since it left yours",
		Args:  cli.ExactArgs(1),
		RunE: withArgs(func(ctx context.Context, args []string) error {
			return runDiff(ctx, dockerCli, root, args[0], opts)
		}),
	}
	cmd.Flags().BoolVar(&opts.stat, "stat", false, "Show a diffstat")
	return cmd
}

// agentRepo is the fleet's repository and the agent's name, for the commands on agent
// branches. The agent's branch is fetched from its clone into the host repository first.
func agentRepo(ctx context.Context, dockerCli command.Cli, root *rootOptions, agent string) (*workspace.Repo, string, error) {
	f, err := root.loadFleet()
	if err != nil {
		return nil, "", err
	}
	if f.Isolation != workspace.Worktree && f.Isolation != workspace.Clone {
		return nil, "", fmt.Errorf("project %s shares one workspace (isolation %s): there is no agent branch to compare; start it with --isolation worktree or clone", f.Project, f.Isolation)
	}
	n, err := fleet.AgentNumber(agent)
	if err != nil {
		return nil, "", err
	}
	repo, err := workspace.Open(f.Abs(f.Workspace))
	if err != nil || repo == nil {
		return nil, "", fmt.Errorf("the workspace %s is no longer a git repository", f.Abs(f.Workspace))
	}
	name := fleet.AgentName(n)
	if err := agentclone.Fetch(ctx, dockerCli, f, repo, name); err != nil {
		return nil, "", err
	}
	return repo, name, nil
}

func runDiff(ctx context.Context, dockerCli command.Cli, root *rootOptions, agent string, opts diffOptions) error {
	repo, name, err := agentRepo(ctx, dockerCli, root, agent)
	if err != nil {
		return err
	}
	out, err := repo.Diff(name, opts.stat)
	if err != nil {
		return err
	}
	if out != "" {
		fmt.Fprintln(dockerCli.Out(), out)
	}
	return nil
}
