package main

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/images/supervisor/modelusage"
	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/fleetstatus"
	"github.com/docker-magents/docker-magents/internal/fleetusage"
	"github.com/docker-magents/docker-magents/internal/format"
)

type usageOptions struct {
	format string
	by     string
	total  bool
	where  runtimeOptions
}

// usageGroupings are usage --by's values.
var usageGroupings = []string{"agent", "task", "model"}

func usageCmd(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	var opts usageOptions
	cmd := &cobra.Command{
		Use:   "usage [OPTIONS]",
		Short: "Show the tokens and cost of each agent's model requests, as the fleet's model gateway counted them",
		Long: `Show what the fleet's model gateway counted of the Messages API's answers: requests,
tokens by kind and their cost in US dollars (at the prices in the repository's table),
one row per agent, per queued task or per model, side calls (titles, summaries)
included; a task tried by two agents counts both tries, and the row "-" is what
agents asked outside any queued task. The gateway
counts what the API reports; nothing an agent says about itself is taken.

The table ends with a TOTAL row; JSON has one object per row and no total (--total
prints the total alone).`,
		Example: `  docker magents usage
  docker magents usage --by model
  docker magents usage --by task --format json
  docker magents usage --total --format '{{.CostUSD}}'`,
		Args: cli.NoArgs,
		RunE: withSignals(func(ctx context.Context) error {
			return runUsage(ctx, dockerCli, root, opts)
		}),
	}
	cmd.Flags().StringVar(&opts.format, "format", "table", format.Usage)
	cmd.Flags().StringVar(&opts.by, "by", "agent", "One row per: "+strings.Join(usageGroupings, ", "))
	cmd.Flags().BoolVar(&opts.total, "total", false, "Print the fleet's total alone")
	opts.where.addFlags(cmd.Flags())
	return cmd
}

// UsageRow is one row of docker magents usage --format json.
type UsageRow struct {
	Agent               string  `json:"Agent,omitempty"`
	Task                string  `json:"Task,omitempty"`
	Model               string  `json:"Model,omitempty"`
	Requests            int     `json:"Requests"`
	InputTokens         int     `json:"InputTokens"`
	OutputTokens        int     `json:"OutputTokens"`
	CacheCreationTokens int     `json:"CacheCreationTokens"`
	CacheReadTokens     int     `json:"CacheReadTokens"`
	Tokens              int     `json:"Tokens"`
	CostUSD             float64 `json:"CostUSD"`
	// Unpriced: some tokens were of a model the price table does not know (no cost).
	Unpriced bool `json:"Unpriced,omitempty"`
	// An agent's limit (0: none), whether it was reached, and the requests refused for it.
	BudgetUSD      float64 `json:"BudgetUSD,omitempty"`
	BudgetExceeded bool    `json:"BudgetExceeded,omitempty"`
	Refused        int     `json:"Refused,omitempty"`
}

func usageRow(u modelusage.Usage) UsageRow {
	return UsageRow{Requests: u.Requests, InputTokens: u.InputTokens, OutputTokens: u.OutputTokens,
		CacheCreationTokens: u.CacheCreationInputTokens, CacheReadTokens: u.CacheReadInputTokens,
		Tokens: u.Tokens(), CostUSD: u.CostUSD, Unpriced: u.Unpriced}
}

func runUsage(ctx context.Context, dockerCli command.Cli, root *rootOptions, opts usageOptions) error {
	if !slices.Contains(usageGroupings, opts.by) {
		return fmt.Errorf("invalid --by %q: use %s", opts.by, strings.Join(usageGroupings, " or "))
	}
	fmtr, err := format.Parse(opts.format)
	if err != nil {
		return err
	}
	f, err := opts.where.fleet(root)
	if err != nil {
		return err
	}
	gw, err := opts.where.gateway(ctx, dockerCli, f)
	if err != nil {
		return err
	}
	rep, err := fleetusage.Report(ctx, gw, f)
	if err != nil {
		return err
	}
	total := usageRow(rep.Total())
	if opts.total {
		return format.Value(dockerCli.Out(), fmtr, total, func(w io.Writer) error { return usageTable(w, opts.by, nil, &total) })
	}
	rows := usageRows(f, rep, opts.by)
	return format.Rows(dockerCli.Out(), fmtr, rows, func(w io.Writer) error { return usageTable(w, opts.by, rows, &total) })
}

// usageRows are the account by agent (every agent of the fleet, and any other the gateway
// served, in agent order), by queued task (each the gateway counted, in queue order) or by
// model (by name).
func usageRows(f *fleet.Fleet, rep *modelusage.Report, by string) []UsageRow {
	var rows []UsageRow
	switch by {
	case "model":
		models := sumBy(rep, func(a modelusage.AgentUsage) map[string]modelusage.Usage { return a.Models })
		for _, m := range slices.Sorted(maps.Keys(models)) {
			r := usageRow(models[m])
			r.Model = orDash(m)
			rows = append(rows, r)
		}
		return rows
	case "task":
		tasks := sumBy(rep, func(a modelusage.AgentUsage) map[string]modelusage.Usage { return a.Tasks })
		ids := slices.SortedFunc(maps.Keys(tasks), func(a, b string) int {
			return cmp.Or(cmp.Compare(taskNumber(a), taskNumber(b)), strings.Compare(a, b))
		})
		outside := rep.Total()
		for _, id := range ids {
			r := usageRow(tasks[id])
			r.Task = id
			rows = append(rows, r)
			outside.Sub(tasks[id])
		}
		// What agents asked outside any queued task (their own work, docker magents task).
		if outside.Requests > 0 {
			r := usageRow(outside)
			r.Task = "-"
			rows = append(rows, r)
		}
		return rows
	}
	names := f.AgentNames()
	for name := range rep.Agents {
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	slices.SortFunc(names, func(a, b string) int { return fleetstatus.Order(a) - fleetstatus.Order(b) })
	for _, name := range names {
		a := rep.Agents[name]
		r := usageRow(a.Total())
		r.Agent, r.BudgetUSD, r.BudgetExceeded, r.Refused = name, rep.Budgets.Of(name), a.Exceeded || rep.FleetExceeded, a.Refused
		rows = append(rows, r)
	}
	return rows
}

// sumBy adds up every agent's usage by the keys of what of it part gives.
func sumBy(rep *modelusage.Report, part func(modelusage.AgentUsage) map[string]modelusage.Usage) map[string]modelusage.Usage {
	out := map[string]modelusage.Usage{}
	for _, a := range rep.Agents {
		for k, u := range part(a) {
			t := out[k]
			t.Add(u)
			out[k] = t
		}
	}
	return out
}

// taskNumber is N of a queued task's ID task-N, or 0.
func taskNumber(id string) int {
	n, _ := strconv.Atoi(strings.TrimPrefix(id, "task-"))
	return n
}

// usageDefaultTable is usage's default table, over usageLine; its first column is what
// the usage is by (AGENT, TASK or MODEL).
const usageDefaultTable = "table {{.Name}}\t{{.Requests}}\t{{.Input}}\t{{.Output}}\t{{.CacheWrite}}\t{{.CacheRead}}\t{{.Cost}}\t{{.Budget}}"

// usageLine is a row of usage's default table.
type usageLine struct{ Name, Requests, Input, Output, CacheWrite, CacheRead, Cost, Budget string }

func usageTable(out io.Writer, by string, rows []UsageRow, total *UsageRow) error {
	var lines []usageLine
	line := func(name string, r UsageRow) {
		cost := fmt.Sprintf("$%.4f", r.CostUSD)
		if r.Unpriced {
			cost += " (some unpriced)"
		}
		budget := "-"
		if r.BudgetUSD > 0 {
			budget = fmt.Sprintf("$%.2f", r.BudgetUSD)
		}
		if r.BudgetExceeded {
			budget += " (reached)"
		}
		lines = append(lines, usageLine{name, strconv.Itoa(r.Requests), strconv.Itoa(r.InputTokens), strconv.Itoa(r.OutputTokens),
			strconv.Itoa(r.CacheCreationTokens), strconv.Itoa(r.CacheReadTokens), cost, budget})
	}
	for _, r := range rows {
		line(r.Agent+r.Task+r.Model, r)
	}
	if total != nil {
		line("TOTAL", *total)
	}
	return format.Table(out, usageDefaultTable, lines, map[string]string{"Name": strings.ToUpper(by)})
}
