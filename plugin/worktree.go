package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/internal/agentclone"
	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/fleetstatus"
	"github.com/docker-magents/docker-magents/internal/format"
	"github.com/docker-magents/docker-magents/internal/workspace"
)

func worktreeCmd(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "worktree",
		Short: "List and prune the agents' git worktrees and branches",
		Args:  cli.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(worktreeLsCmd(dockerCli, root), worktreePruneCmd(dockerCli, root))
	return cmd
}

type worktreeLsOptions struct {
	format string
}

func worktreeLsCmd(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	var opts worktreeLsOptions
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List the agents' worktrees and what each holds that is not merged",
		Example: `  docker magents worktree ls`,
		Args:    cli.NoArgs,
		RunE: withSignals(func(ctx context.Context) error {
			return runWorktreeLs(ctx, dockerCli, root, opts)
		}),
	}
	cmd.Flags().StringVar(&opts.format, "format", "table", format.Usage)
	return cmd
}

func runWorktreeLs(ctx context.Context, dockerCli command.Cli, root *rootOptions, opts worktreeLsOptions) error {
	fmtr, err := format.Parse(opts.format)
	if err != nil {
		return err
	}
	f, repo, err := fleetRepo(root)
	if err != nil {
		return err
	}
	statuses, err := agentclone.Statuses(ctx, dockerCli, f, repo)
	if err != nil {
		return err
	}
	return format.Rows(dockerCli.Out(), fmtr, statuses, func(out io.Writer) error {
		rows := make([]worktreeRow, 0, len(statuses))
		for _, s := range statuses {
			path := fleet.WorktreeRel(s.Agent)
			if !s.Exists {
				path = "(removed)"
			}
			rows = append(rows, worktreeRow{s.Agent, s.Branch, path, s.Summary()})
		}
		return format.Table(out, worktreeLsTable, rows, nil)
	})
}

// worktreeLsTable is worktree ls's default table, over worktreeRow.
const worktreeLsTable = "table {{.Agent}}\t{{.Branch}}\t{{.Worktree}}\t{{.Holds}}"

type worktreeRow struct{ Agent, Branch, Worktree, Holds string }

type worktreePruneOptions struct {
	force bool
}

func worktreePruneCmd(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	var opts worktreePruneOptions
	cmd := &cobra.Command{
		Use:   "prune [OPTIONS] [AGENT...]",
		Short: "Remove agents' worktrees and branches (all that no running agent uses, when none is named)",
		Example: `  docker magents worktree prune            # merged work only
  docker magents worktree prune --force agent-3`,
		Long: `Remove agents' worktrees and their magents/agent-N branches.

A worktree with uncommitted changes, or a branch with commits no other branch has, is
kept and named, and prune exits 1; merge the work first (docker magents merge AGENT), or
give --force to delete it. The worktree of a running agent is never removed: stop the
fleet first (docker magents down).`,
		RunE: withArgs(func(ctx context.Context, args []string) error {
			return runWorktreePrune(ctx, dockerCli, root, args, opts)
		}),
	}
	cmd.Flags().BoolVarP(&opts.force, "force", "f", false, "Also delete uncommitted changes and unmerged commits")
	return cmd
}

func runWorktreePrune(ctx context.Context, dockerCli command.Cli, root *rootOptions, agents []string, opts worktreePruneOptions) error {
	f, unlock, err := root.lockFleet()
	if err != nil {
		return err
	}
	defer unlock()
	_, repo, err := fleetRepo(root)
	if err != nil {
		return err
	}
	statuses, err := agentclone.Statuses(ctx, dockerCli, f, repo)
	if err != nil {
		return err
	}
	running := map[string]bool{}
	agentStates, err := fleetstatus.List(ctx, dockerCli.Client(), f, fleetstatus.Options{})
	if err != nil {
		return err
	}
	for _, s := range agentStates {
		running[s.Agent] = s.ContainerState == "running"
	}
	named := len(agents) > 0
	for i, a := range agents {
		n, err := fleet.AgentNumber(a)
		if err != nil {
			return err
		}
		agents[i] = fleet.AgentName(n)
		if !slices.ContainsFunc(statuses, func(s workspace.WorktreeStatus) bool { return s.Agent == agents[i] }) {
			return fmt.Errorf("%s has no worktree or branch in project %s", agents[i], f.Project)
		}
	}
	var kept []string
	removed := 0
	for _, s := range statuses {
		if named && !slices.Contains(agents, s.Agent) {
			continue
		}
		if running[s.Agent] {
			if named {
				kept = append(kept, s.Agent+" is running: stop it first (docker magents down)")
			}
			continue
		}
		if !opts.force && !s.Clean() {
			kept = append(kept, fmt.Sprintf("%s has %s: merge it (docker magents merge %s), or give --force to delete it", s.Agent, s.Summary(), s.Agent))
			continue
		}
		if err := agentclone.Remove(ctx, dockerCli, f, repo, s.Agent); err != nil {
			kept = append(kept, err.Error())
			continue
		}
		removed++
		fmt.Fprintf(dockerCli.Out(), "Removed %s: worktree %s and branch %s (%s)\n", s.Agent, fleet.WorktreeRel(s.Agent), s.Branch, s.Summary())
	}
	if len(kept) > 0 {
		return cli.StatusError{StatusCode: 1, Status: "kept:\n  " + strings.Join(kept, "\n  ")}
	}
	if removed == 0 {
		fmt.Fprintln(dockerCli.Err(), "Nothing to prune.")
	}
	return nil
}

// fleetRepo is the fleet and its repository, for a fleet of worktrees.
func fleetRepo(root *rootOptions) (*fleet.Fleet, *workspace.Repo, error) {
	f, err := root.loadFleet()
	if err != nil {
		return nil, nil, err
	}
	if f.Isolation != workspace.Worktree {
		return nil, nil, fmt.Errorf("project %s has no worktrees (isolation %s)", f.Project, f.Isolation)
	}
	repo, err := workspace.Open(f.Abs(f.Workspace))
	if err != nil || repo == nil {
		return nil, nil, fmt.Errorf("the workspace %s is no longer a git repository", f.Abs(f.Workspace))
	}
	return f, repo, nil
}
