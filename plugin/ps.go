package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/docker/go-units"
	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/images/supervisor/agentstate"
	"github.com/docker-magents/docker-magents/internal/fleetruntime"
	"github.com/docker-magents/docker-magents/internal/fleetstatus"
	"github.com/docker-magents/docker-magents/internal/format"
)

type psOptions struct {
	format   string
	quiet    bool
	all      bool
	volumes  bool
	live     bool
	watch    bool
	interval time.Duration
	where    runtimeOptions
}

func psCmd(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	var opts psOptions
	cmd := &cobra.Command{
		Use:   "ps [OPTIONS]",
		Short: "List the fleet's agents and what each is doing",
		Example: `  docker magents ps
  docker magents ps --watch
  docker magents ps --format json
  docker magents ps --swarm                # the agents of the stack deploy swarm made
  docker magents ps --k8s                  # the agents' pods in the cluster deploy k8s applied to`,
		Args: cli.NoArgs,
		RunE: withSignals(func(ctx context.Context) error {
			return runPs(ctx, dockerCli, root, opts)
		}),
	}
	cmd.Flags().StringVar(&opts.format, "format", "table", format.Usage)
	cmd.Flags().BoolVarP(&opts.quiet, "quiet", "q", false, "Only display the agents' container IDs")
	cmd.Flags().BoolVarP(&opts.all, "all", "a", false, "Show all agents (default shows just running)")
	cmd.Flags().BoolVar(&opts.volumes, "volumes", false, "Also list config volumes kept from removed agents")
	cmd.Flags().BoolVar(&opts.live, "live", false, "Ask each agent's supervisor now (an exec each) rather than read its last health check (at most 5 s old)")
	cmd.Flags().BoolVar(&opts.watch, "watch", false, "Refresh the list in place until interrupted")
	cmd.Flags().DurationVar(&opts.interval, "interval", 2*time.Second, "How often --watch refreshes")
	opts.where.addFlags(cmd.Flags())
	return cmd
}

func runPs(ctx context.Context, dockerCli command.Cli, root *rootOptions, opts psOptions) error {
	fmtr, err := format.Parse(opts.format)
	if opts.quiet {
		// As docker ps -q: the IDs, one per line (the agents', not the fleet's services').
		fmtr, err = format.Parse("{{truncate .ID 12}}")
	}
	if err != nil {
		return err
	}
	if opts.watch && opts.interval < 100*time.Millisecond {
		return fmt.Errorf("invalid --interval %s: use at least 100ms", opts.interval)
	}
	_, rt, err := opts.where.open(dockerCli, root, fleetstatus.Options{KeptVolumes: opts.volumes, Live: opts.live})
	if err != nil {
		return err
	}
	if !opts.watch {
		statuses, err := listAgents(ctx, rt, opts)
		if err != nil {
			return err
		}
		return writeStatuses(dockerCli.Out(), statuses, fmtr)
	}
	// --watch: like docker stats, redraw in place on a terminal; elsewhere (a pipe, a log)
	// print each refresh after the last.
	term := dockerCli.Out().IsTerminal()
	for {
		statuses, err := listAgents(ctx, rt, opts)
		if ctx.Err() != nil {
			return nil // interrupted: the normal way to leave --watch
		}
		if err != nil {
			return err
		}
		var buf bytes.Buffer
		if term {
			buf.WriteString("\033[H\033[2J")
		}
		if err := writeStatuses(&buf, statuses, fmtr); err != nil {
			return err
		}
		if !term && fmtr.IsTable() {
			buf.WriteString("\n")
		}
		if _, err := dockerCli.Out().Write(buf.Bytes()); err != nil {
			return err
		}
		if !sleepCtx(ctx, opts.interval) {
			return nil
		}
	}
}

// listAgents lists the agents as compose ps lists services: running ones, and with
// --all stopped ones too; with --volumes the config volumes kept from removed agents.
func listAgents(ctx context.Context, rt fleetruntime.Runtime, opts psOptions) ([]fleetstatus.AgentStatus, error) {
	statuses, err := rt.Agents(ctx)
	if err != nil {
		return nil, err
	}
	return slices.DeleteFunc(statuses, func(s fleetstatus.AgentStatus) bool {
		if s.Retained {
			return opts.quiet // a kept volume has no container ID to print
		}
		return !opts.all && !s.Running()
	}), nil
}

func writeStatuses(out io.Writer, statuses []fleetstatus.AgentStatus, f format.Format) error {
	return format.Rows(out, f, statuses, func(out io.Writer) error { return statusTable(out, statuses) })
}

// psTable is ps's default table: a template of the one formatter over psRow, as
// docker ps's is (--format "table {{.Agent}}\t{{.State}}" picks columns of the JSON's).
const psTable = "table {{.Agent}}\t{{.Container}}\t{{.State}}\t{{.For}}\t{{.Health}}\t{{.Tokens}}\t{{.Cost}}\t{{.Uptime}}\t{{.Image}}"

// psRow is an agent's status as ps's default table shows it.
type psRow struct{ Agent, Container, State, For, Health, Tokens, Cost, Uptime, Image string }

func statusTable(out io.Writer, statuses []fleetstatus.AgentStatus) error {
	rows := make([]psRow, 0, len(statuses))
	for _, s := range statuses {
		uptime := "-"
		if s.UptimeSeconds > 0 {
			uptime = units.HumanDuration(time.Duration(s.UptimeSeconds) * time.Second)
		}
		held := "-"
		if !s.Since.IsZero() {
			held = shortDuration(time.Duration(s.StateSeconds) * time.Second)
		}
		name, state, health := s.Container, string(s.State), s.Health
		if s.Detail != "" && (s.State == agentstate.Waiting || s.State == agentstate.AuthRejected || s.State == agentstate.Idle || s.State == agentstate.BudgetExceeded) {
			state += ": " + s.Detail
		}
		// The supervisor's own problems say it all, egress refusals included (the proxy's
		// total count, EgressDenied, stays in the JSON).
		if len(s.Problems) > 0 {
			state += " (" + strings.Join(s.Problems, "; ") + ")"
		}
		if s.Retained {
			name, state, health = "-", "removed (config volume "+s.ConfigVolume+" kept)", "-"
		}
		tokens, cost := "-", "-"
		if s.Tokens > 0 || s.CostUSD > 0 {
			tokens, cost = units.CustomSize("%.4g%s", float64(s.Tokens), 1000, []string{"", "k", "M", "G"}), fmt.Sprintf("$%.2f", s.CostUSD)
		}
		rows = append(rows, psRow{s.Agent, name, state, held, orDash(health), tokens, cost, uptime, orDash(s.Image)})
	}
	return format.Table(out, psTable, rows, nil)
}

// shortDuration is a duration for a column: 45s, 3m12s, 2h5m, 3d4h.
func shortDuration(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
	return fmt.Sprintf("%dd%dh", int(d.Hours())/24, int(d.Hours())%24)
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
