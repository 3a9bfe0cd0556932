package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/internal/agentclone"
	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/fleetgateway"
	"github.com/docker-magents/docker-magents/internal/fleetqueue"
	"github.com/docker-magents/docker-magents/internal/termsafe"
	"github.com/docker-magents/docker-magents/internal/workspace"
)

type diffOptions struct {
	stat bool
}

func diffCmd(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	var opts diffOptions
	cmd := &cobra.Command{
		Use:   "diff [OPTIONS] AGENT|TASK-ID",
		Short: "Show what an agent's branch (or a queued task's) changed since it left yours",
		Example: `  docker magents diff agent-1              # what agent-1's branch changes, against its base
  docker magents diff --stat task-3`,
		Args: cli.ExactArgs(1),
		RunE: withArgs(func(ctx context.Context, args []string) error {
			return runDiff(ctx, dockerCli, root, args[0], opts)
		}),
	}
	cmd.Flags().BoolVar(&opts.stat, "stat", false, "Show a diffstat")
	return cmd
}

// agentRepo is the fleet's repository and the name of the branch's owner (agent-N, or a
// queued task's ID: its branch is magents/NAME), for the commands on agent branches. The
// branch is fetched from the agent's clone into the host repository first.
func agentRepo(ctx context.Context, dockerCli command.Cli, root *rootOptions, arg string) (*workspace.Repo, string, error) {
	f, err := root.loadFleet()
	if err != nil {
		return nil, "", err
	}
	if f.Isolation != workspace.Worktree && f.Isolation != workspace.Clone {
		return nil, "", fmt.Errorf("project %s shares one workspace (isolation %s): there is no agent branch to compare; start it with --isolation worktree or clone", f.Project, f.Isolation)
	}
	agent, name, err := branchOwner(ctx, dockerCli, f, arg)
	if err != nil {
		return nil, "", err
	}
	repo, err := workspace.Open(f.Abs(f.Workspace))
	if err != nil || repo == nil {
		return nil, "", fmt.Errorf("the workspace %s is no longer a git repository", f.Abs(f.Workspace))
	}
	if err := agentclone.FetchBranch(ctx, dockerCli, f, repo, agent, workspace.Branch(name)); err != nil {
		return nil, "", err
	}
	return repo, name, nil
}

// branchOwner reads AGENT|TASK-ID: the agent whose clone holds the branch, and the
// branch's name after magents/ (agent-N, or task-N for the agent that worked on it).
func branchOwner(ctx context.Context, dockerCli command.Cli, f *fleet.Fleet, arg string) (agent, name string, err error) {
	if id, ok := strings.CutPrefix(arg, "task-"); ok {
		if _, err := strconv.Atoi(id); err != nil {
			return "", "", fmt.Errorf("invalid task ID %q: task-N (see docker magents queue ls)", arg)
		}
		tasks, err := fleetqueue.List(ctx, fleetgateway.Find(ctx, dockerCli.Client(), f), f)
		if err != nil {
			return "", "", err
		}
		for _, t := range tasks {
			if t.ID == arg {
				if t.Branch == "" {
					return "", "", fmt.Errorf("%s has no branch yet (it is %s)", arg, t.State)
				}
				return t.AssignedTo, t.ID, nil
			}
		}
		return "", "", fmt.Errorf("no task %s in the queue of project %s (see docker magents queue ls)", arg, f.Project)
	}
	n, err := fleet.AgentNumber(arg)
	if err != nil {
		return "", "", err
	}
	return fleet.AgentName(n), fleet.AgentName(n), nil
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
	// The agent wrote every line of it: a control sequence in a file shows up in the
	// review, it does not rewrite the screen (hide a hunk, conceal a line).
	if out != "" {
		fmt.Fprintln(dockerCli.Out(), termsafe.Visible(out))
	}
	return nil
}
