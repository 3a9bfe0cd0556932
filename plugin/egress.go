package main

import (
	"context"
	"fmt"
	"time"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/internal/fleetstatus"
	"github.com/docker-magents/docker-magents/internal/format"
)

func egressCmd(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "egress",
		Short: "What the fleet's egress proxy let through and refused",
		Args:  cli.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(egressLogCmd(dockerCli, root))
	return cmd
}

type egressLogOptions struct {
	format string
}

func egressLogCmd(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	var opts egressLogOptions
	cmd := &cobra.Command{
		Use:   "log [OPTIONS]",
		Short: "Show the requests the egress proxy refused: agent, host and time",
		Example: `  docker magents egress log                # what the proxy refused, by agent
  docker magents egress log --format json`,
		Args: cli.NoArgs,
		RunE: withSignals(func(ctx context.Context) error {
			return runEgressLog(ctx, dockerCli, root, opts)
		}),
	}
	cmd.Flags().StringVar(&opts.format, "format", "table", format.Usage)
	return cmd
}

func runEgressLog(ctx context.Context, dockerCli command.Cli, root *rootOptions, opts egressLogOptions) error {
	fmtr, err := format.Parse(opts.format)
	if err != nil {
		return err
	}
	f, err := root.loadFleet()
	if err != nil {
		return err
	}
	rep, err := fleetstatus.Egress(ctx, dockerCli.Client(), f)
	if err != nil {
		return err
	}
	if !fmtr.IsTable() {
		return format.Value(dockerCli.Out(), fmtr, rep, nil)
	}
	rows := make([]egressRow, 0, len(rep.Recent))
	for _, d := range rep.Recent {
		rows = append(rows, egressRow{d.Time.Local().Format(time.DateTime), d.Agent, d.Host, d.Method})
	}
	if err := format.Table(dockerCli.Out(), egressLogTable, rows, nil); err != nil {
		return err
	}
	if len(rep.Recent) == 0 {
		fmt.Fprintln(dockerCli.Err(), "The egress proxy refused nothing.")
	}
	return nil
}

// egressLogTable is egress log's default table, over egressRow.
const egressLogTable = "table {{.Time}}\t{{.Agent}}\t{{.Host}}\t{{.Method}}"

type egressRow struct{ Time, Agent, Host, Method string }
