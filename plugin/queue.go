package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/images/supervisor/modelusage"
	"github.com/docker-magents/docker-magents/images/supervisor/workqueue"
	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/fleetgateway"
	"github.com/docker-magents/docker-magents/internal/fleetqueue"
	"github.com/docker-magents/docker-magents/internal/fleetusage"
	"github.com/docker-magents/docker-magents/internal/format"
	"github.com/docker-magents/docker-magents/internal/workspace"
)

func queueCmd(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "queue",
		Short: "The fleet's work queue: tasks the agents take one at a time as they go idle",
		Long: `The fleet's work queue, kept and run by the fleet itself (the dispatcher in its egress
proxy): it survives down, up and an engine restart, and needs no docker magents process
left running. Each agent that goes idle gets the next task — the highest priority first,
then the oldest — on a branch of its own (magents/task-N, from the fleet's base as the
host has it at that moment; in shared isolation, in the shared tree, one after another),
in a fresh Claude conversation. A failed task is tried once more.

A fleet deployed with docker magents deploy swarm has its queue in the stack's gateway,
which these commands find on this node; one deployed with deploy k8s, in its gateway's
pod: give --k8s. Agents there have no clone of your repository: their tasks run one after
another in their workspaces, without branches.`,
		Args: cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	where := &runtimeOptions{}
	where.addFlags(cmd.PersistentFlags())
	cmd.AddCommand(queueAddCmd(dockerCli, root, where), queueLsCmd(dockerCli, root, where), queueShowCmd(dockerCli, root, where),
		queueCancelCmd(dockerCli, root, where), queueRetryCmd(dockerCli, root, where))
	return cmd
}

type queueAddOptions struct {
	where    *runtimeOptions
	file     string
	agent    string
	priority int
	timeout  time.Duration
	push     bool
	remote   string
}

func queueAddCmd(dockerCli command.Cli, root *rootOptions, where *runtimeOptions) *cobra.Command {
	opts := queueAddOptions{where: where}
	cmd := &cobra.Command{
		Use:   "add [OPTIONS] [TASK]",
		Short: "Queue a task (or the tasks of a file)",
		Example: `  docker magents queue add "Fix the flaky test in parser_test.go"
  docker magents queue add --file backlog.yaml --priority 1 --timeout 30m`,
		Args: cli.RequiresMaxArgs(1),
	}
	cmd.RunE = withSignals(func(ctx context.Context) error {
		return runQueueAdd(ctx, dockerCli, root, opts, cmd.Flags().Args())
	})
	cmd.Flags().StringVar(&opts.file, "file", "", "A file of tasks, one per line or a YAML list")
	cmd.Flags().StringVar(&opts.agent, "agent", "", "Only this agent takes the task (agent-N)")
	cmd.Flags().IntVar(&opts.priority, "priority", 0, "Higher goes first; equal ones in the order queued")
	cmd.Flags().DurationVar(&opts.timeout, "timeout", 0, "Fail the task when it runs longer (0: no limit)")
	cmd.Flags().BoolVar(&opts.push, "push", false, "Push the task's branch when it is done, with the fleet's git credentials (by the fleet's dispatcher, not the agent)")
	cmd.Flags().StringVar(&opts.remote, "remote", "origin", "With --push: the remote of your repository to push to")
	return cmd
}

func runQueueAdd(ctx context.Context, dockerCli command.Cli, root *rootOptions, opts queueAddOptions, args []string) error {
	var prompts []string
	if len(args) == 1 {
		prompts = append(prompts, args[0])
	}
	if opts.file != "" {
		b, err := os.ReadFile(opts.file)
		if err != nil {
			return err
		}
		list, err := fleet.ParseTasks(b)
		if err != nil {
			return fmt.Errorf("--file %s: %w", opts.file, err)
		}
		prompts = append(prompts, list...)
	}
	if len(prompts) == 0 {
		return errors.New("give a task, or --file with tasks")
	}
	if opts.timeout < 0 {
		return fmt.Errorf("invalid --timeout %s: give a positive duration", opts.timeout)
	}
	f, err := opts.where.fleet(root)
	if err != nil {
		return err
	}
	if opts.agent != "" {
		if n, err := fleet.AgentNumber(opts.agent); err != nil || n > f.Agents {
			return fmt.Errorf("invalid --agent %q: the fleet's agents are agent-1 to agent-%d", opts.agent, f.Agents)
		}
	}
	var pushURL string
	if opts.push {
		if pushURL, err = taskRemote(f, opts.remote); err != nil {
			return err
		}
	}
	tasks := make([]workqueue.NewTask, len(prompts))
	for i, p := range prompts {
		tasks[i] = workqueue.NewTask{Prompt: p, Agent: opts.agent, Priority: opts.priority, Timeout: opts.timeout, Push: opts.push, PushURL: pushURL}
	}
	gw, err := opts.where.gateway(ctx, dockerCli, f)
	if err != nil {
		return err
	}
	added, err := fleetqueue.Add(ctx, gw, f, tasks)
	if err != nil {
		return err
	}
	for _, t := range added {
		fmt.Fprintf(dockerCli.Out(), "%s queued\n", t.ID)
	}
	return nil
}

// taskRemote is the URL queue add --push pushes to: remote of the fleet's repository, for
// a fleet whose tasks have branches and that has git credentials.
func taskRemote(f *fleet.Fleet, remote string) (string, error) {
	if f.Isolation != workspace.Clone && f.Isolation != workspace.Worktree {
		return "", fmt.Errorf("--push: project %s shares one workspace (isolation %s): its tasks have no branches to push", f.Project, f.Isolation)
	}
	if f.Config.GitCredentials == "" {
		return "", fmt.Errorf("--push: project %s has no git credentials to push with: give them with docker magents up --git-credentials FILE", f.Project)
	}
	repo, err := workspace.Open(f.Abs(f.Workspace))
	if err != nil || repo == nil {
		return "", fmt.Errorf("--push: the workspace %s is not a git repository", f.Abs(f.Workspace))
	}
	return repo.RemoteURL(remote)
}

// QueueTask is one task in docker magents queue ls and show --format json.
type QueueTask struct {
	workqueue.Task
	DurationSeconds int64   `json:"DurationSeconds"`
	Tokens          int     `json:"Tokens,omitempty"`
	CostUSD         float64 `json:"CostUSD,omitempty"`
}

type queueLsOptions struct {
	where  *runtimeOptions
	format string
	quiet  bool
}

func queueLsCmd(dockerCli command.Cli, root *rootOptions, where *runtimeOptions) *cobra.Command {
	opts := queueLsOptions{where: where}
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List every task, the ended ones too",
		Example: `  docker magents queue ls
  docker magents queue ls --format json`,
		Args: cli.NoArgs,
		RunE: withSignals(func(ctx context.Context) error {
			return runQueueLs(ctx, dockerCli, root, opts)
		}),
	}
	cmd.Flags().StringVar(&opts.format, "format", "table", format.Usage)
	cmd.Flags().BoolVarP(&opts.quiet, "quiet", "q", false, "Only display the tasks' IDs")
	return cmd
}

// queueTasks reads the queue, with each task's tokens and cost when the fleet has a
// gateway.
func queueTasks(ctx context.Context, dockerCli command.Cli, f *fleet.Fleet, where *runtimeOptions) ([]QueueTask, error) {
	gw, err := where.gateway(ctx, dockerCli, f)
	if err != nil {
		return nil, err
	}
	list, err := fleetqueue.List(ctx, gw, f)
	if err != nil {
		return nil, err
	}
	var usage *modelusage.Report
	usage, _ = fleetusage.Report(ctx, gw, f) // without a model gateway, no cost column
	return taskRows(list, usage, time.Now()), nil
}

// taskRows is the queue's tasks with what each took and, from the model gateway's usage
// when there is one, what it cost.
func taskRows(list []workqueue.Task, usage *modelusage.Report, now time.Time) []QueueTask {
	out := make([]QueueTask, len(list))
	for i, t := range list {
		out[i] = QueueTask{Task: t, DurationSeconds: int64(t.Duration(now).Seconds())}
		if usage != nil {
			var u modelusage.Usage
			for _, a := range usage.Agents {
				u.Add(a.Tasks[t.ID])
			}
			out[i].Tokens, out[i].CostUSD = u.Tokens(), u.CostUSD
		}
	}
	return out
}

func runQueueLs(ctx context.Context, dockerCli command.Cli, root *rootOptions, opts queueLsOptions) error {
	fmtr, err := format.Parse(opts.format)
	if opts.quiet {
		fmtr, err = format.Parse("{{.ID}}")
	}
	if err != nil {
		return err
	}
	f, err := opts.where.fleet(root)
	if err != nil {
		return err
	}
	tasks, err := queueTasks(ctx, dockerCli, f, opts.where)
	if err != nil {
		return err
	}
	return format.Rows(dockerCli.Out(), fmtr, tasks, func(w io.Writer) error { return queueTable(w, tasks) })
}

// queueLsTable is queue ls's default table, over queueRow.
const queueLsTable = "table {{.ID}}\t{{.State}}\t{{.Agent}}\t{{.Priority}}\t{{.Tries}}\t{{.Duration}}\t{{.Cost}}\t{{.Task}}"

// queueRow is a task as queue ls's default table shows it.
type queueRow struct{ ID, State, Agent, Priority, Tries, Duration, Cost, Task string }

func queueTable(out io.Writer, tasks []QueueTask) error {
	rows := make([]queueRow, 0, len(tasks))
	for _, t := range tasks {
		agent := t.AssignedTo
		if agent == "" && t.Agent != "" {
			agent = "(" + t.Agent + ")"
		}
		took := "-"
		if t.DurationSeconds > 0 || !t.Started.IsZero() {
			took = shortDuration(time.Duration(t.DurationSeconds) * time.Second)
		}
		cost := "-"
		if t.Tokens > 0 {
			cost = fmt.Sprintf("$%.4f", t.CostUSD)
		}
		rows = append(rows, queueRow{t.ID, string(t.State), orDash(agent), strconv.Itoa(t.Priority), fmt.Sprintf("%d/%d", t.Attempts, t.MaxTries), took, cost, oneLine(t.Prompt, 50)})
	}
	return format.Table(out, queueLsTable, rows, map[string]string{"ID": "ID"})
}

// oneLine is s on one line, at most n runes.
func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

type queueShowOptions struct {
	format string
	where  *runtimeOptions
}

func queueShowCmd(dockerCli command.Cli, root *rootOptions, where *runtimeOptions) *cobra.Command {
	opts := queueShowOptions{where: where}
	cmd := &cobra.Command{
		Use:   "show [OPTIONS] TASK-ID",
		Short: "Show a task: its state, agent, branch and diff stat, Claude's final answer, tokens and cost",
		Example: `  docker magents queue show task-1
  docker magents queue show task-1 --format json`,
		Args: cli.ExactArgs(1),
	}
	cmd.RunE = withSignals(func(ctx context.Context) error {
		return runQueueShow(ctx, dockerCli, root, opts, cmd.Flags().Arg(0))
	})
	cmd.Flags().StringVar(&opts.format, "format", "table", format.Usage)
	return cmd
}

func runQueueShow(ctx context.Context, dockerCli command.Cli, root *rootOptions, opts queueShowOptions, id string) error {
	fmtr, err := format.Parse(opts.format)
	if err != nil {
		return err
	}
	f, err := opts.where.fleet(root)
	if err != nil {
		return err
	}
	tasks, err := queueTasks(ctx, dockerCli, f, opts.where)
	if err != nil {
		return err
	}
	for _, t := range tasks {
		if t.ID == id {
			return format.Value(dockerCli.Out(), fmtr, t, func(w io.Writer) error { return showTask(w, t) })
		}
	}
	return fmt.Errorf("no task %s in the queue of project %s (see docker magents queue ls)", id, f.Project)
}

func showTask(w io.Writer, t QueueTask) error {
	line := func(k, v string) {
		if v != "" {
			fmt.Fprintf(w, "%-10s %s\n", k+":", v)
		}
	}
	line("ID", t.ID)
	line("State", string(t.State))
	line("Agent", t.AssignedTo)
	line("Tries", fmt.Sprintf("%d of %d", t.Attempts, t.MaxTries))
	if !t.Started.IsZero() {
		line("Started", t.Started.Local().Format(time.DateTime))
		line("Duration", shortDuration(time.Duration(t.DurationSeconds)*time.Second))
	}
	if t.Tokens > 0 {
		line("Usage", fmt.Sprintf("%d tokens, $%.4f", t.Tokens, t.CostUSD))
	}
	line("Branch", t.Branch)
	if t.Push {
		line("Pushed", cmp.Or(t.Pushed, "when done"))
	}
	line("Waits for", t.Detail)
	line("Error", t.Error)
	fmt.Fprintf(w, "Task:\n%s\n", indent(t.Prompt))
	if t.DiffStat != "" {
		fmt.Fprintf(w, "Changes:\n%s\n", indent(t.DiffStat))
	}
	if t.Result != "" {
		fmt.Fprintf(w, "Result:\n%s\n", indent(t.Result))
	}
	return nil
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimRight(s, "\n"), "\n", "\n  ")
}

func queueCancelCmd(dockerCli command.Cli, root *rootOptions, where *runtimeOptions) *cobra.Command {
	return queueChangeCmd(dockerCli, root, where, "cancel", "Cancel a task that is not over (an agent working on it stops)", fleetqueue.Cancel)
}

func queueRetryCmd(dockerCli command.Cli, root *rootOptions, where *runtimeOptions) *cobra.Command {
	return queueChangeCmd(dockerCli, root, where, "retry", "Queue an ended task again, with fresh tries", fleetqueue.Retry)
}

func queueChangeCmd(dockerCli command.Cli, root *rootOptions, where *runtimeOptions, verb, short string,
	change func(context.Context, fleetgateway.Gateway, *fleet.Fleet, string) (workqueue.Task, error),
) *cobra.Command {
	cmd := &cobra.Command{
		Use:     verb + " TASK-ID",
		Short:   short,
		Example: "  docker magents queue " + verb + " task-2",
		Args:    cli.ExactArgs(1),
	}
	cmd.RunE = withSignals(func(ctx context.Context) error {
		f, err := where.fleet(root)
		if err != nil {
			return err
		}
		gw, err := where.gateway(ctx, dockerCli, f)
		if err != nil {
			return err
		}
		t, err := change(ctx, gw, f, cmd.Flags().Arg(0))
		if err != nil {
			return err
		}
		fmt.Fprintf(dockerCli.Out(), "%s is %s\n", t.ID, t.State)
		return nil
	})
	return cmd
}
