package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	mobyclient "github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/format"
	"github.com/docker-magents/docker-magents/internal/termsafe"
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
		Args:  cli.NoArgs,
		RunE: withSignals(func(ctx context.Context) error {
			return runEgressLog(ctx, dockerCli, root, opts)
		}),
	}
	cmd.Flags().StringVar(&opts.format, "format", "table", format.Usage)
	return cmd
}

// EgressReport is the egress proxy's account of what it refused.
type EgressReport struct {
	Allow  []string       `json:"Allow"`
	Counts map[string]int `json:"Counts"` // refusals per agent
	Recent []struct {
		Time   time.Time `json:"Time"`
		Agent  string    `json:"Agent"`
		Host   string    `json:"Host"`
		Method string    `json:"Method"`
	} `json:"Recent"`
}

// egressReport asks the fleet's egress proxy what it refused; agents are named agent-N.
func egressReport(ctx context.Context, api mobyclient.APIClient, f *fleet.Fleet) (*EgressReport, error) {
	if f.Egress != fleet.EgressAllowlist {
		return nil, fmt.Errorf("project %s has open egress: there is no egress proxy (start it with docker magents up --egress allowlist)", f.Project)
	}
	out, code, err := execOutput(ctx, api, f.Project+"-"+fleet.EgressProxyService, "/usr/local/bin/magents-supervisor", "proxy-denied")
	if err == nil && code != 0 {
		err = fmt.Errorf("it exited %d", code)
	}
	if err != nil {
		return nil, fmt.Errorf("asking the egress proxy %s-%s (is the fleet up?): %v", f.Project, fleet.EgressProxyService, err)
	}
	var rep EgressReport
	if err := json.Unmarshal(out, &rep); err != nil {
		return nil, fmt.Errorf("reading the egress proxy's report: %w", err)
	}
	termsafe.Value(&rep) // hosts and methods are what agents asked for
	counts := map[string]int{}
	for k, v := range rep.Counts {
		counts[strings.TrimPrefix(k, f.Project+"-")] += v
	}
	rep.Counts = counts
	for i := range rep.Recent {
		rep.Recent[i].Agent = strings.TrimPrefix(rep.Recent[i].Agent, f.Project+"-")
	}
	return &rep, nil
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
	rep, err := egressReport(ctx, dockerCli.Client(), f)
	if err != nil {
		return err
	}
	if !fmtr.IsTable() {
		return format.Value(dockerCli.Out(), fmtr, rep, nil)
	}
	w := tabwriter.NewWriter(dockerCli.Out(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "TIME\tAGENT\tHOST\tMETHOD")
	for _, d := range rep.Recent {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", d.Time.Local().Format(time.DateTime), d.Agent, d.Host, d.Method)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if len(rep.Recent) == 0 {
		fmt.Fprintln(dockerCli.Err(), "The egress proxy refused nothing.")
	}
	return nil
}
