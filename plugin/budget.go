package main

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/fleetusage"
)

func budgetCmd(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "budget",
		Short: "Change the spending limits the fleet's model gateway enforces",
		Args:  cli.NoArgs,
		RunE:  func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(budgetSetCmd(dockerCli, root))
	return cmd
}

type budgetSetOptions struct {
	usd      float64
	fleetUSD float64
	where    runtimeOptions
}

func budgetSetCmd(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	var opts budgetSetOptions
	cmd := &cobra.Command{
		Use:   "set [AGENT] [OPTIONS]",
		Short: "Set an agent's limit (or every agent's, or the fleet's) in US dollars; 0 is none",
		Long: `Set a spending limit of the running fleet's model gateway. With AGENT, --usd is that
agent's own limit; without, every agent's that has none of its own. --fleet-usd limits
the whole fleet. An agent refused for its budget (budget-exceeded) goes on at its next
request once the limit is above what it spent.

The limits hold across restarts of the gateway until 'docker magents up' is given
--budget-usd or --fleet-budget-usd, whose values then replace them.`,
		Example: `  docker magents budget set agent-2 --usd 20
  docker magents budget set --usd 5 --fleet-usd 40`,
		Args: cli.RequiresMaxArgs(1),
	}
	cmd.RunE = withSignals(func(ctx context.Context) error {
		return runBudgetSet(ctx, dockerCli, root, opts, cmd.Flags(), cmd.Flags().Args())
	})
	cmd.Flags().Float64Var(&opts.usd, "usd", 0, "The limit of AGENT, or of every agent without one of its own")
	cmd.Flags().Float64Var(&opts.fleetUSD, "fleet-usd", 0, "The limit of the whole fleet")
	opts.where.addFlags(cmd.Flags())
	return cmd
}

func runBudgetSet(ctx context.Context, dockerCli command.Cli, root *rootOptions, opts budgetSetOptions, flags *pflag.FlagSet, args []string) error {
	if !flags.Changed("usd") && !flags.Changed("fleet-usd") {
		return errors.New("give --usd, --fleet-usd or both")
	}
	if opts.usd < 0 || opts.fleetUSD < 0 {
		return errors.New("a limit is 0 (none) or more dollars")
	}
	f, err := opts.where.fleet(root)
	if err != nil {
		return err
	}
	if len(args) == 1 {
		if _, err := fleet.AgentNumber(args[0]); err != nil || !flags.Changed("usd") {
			return fmt.Errorf("%q: give an agent of the fleet (agent-N) with --usd", args[0])
		}
	}
	gw, err := opts.where.gateway(ctx, dockerCli, f)
	if err != nil {
		return err
	}
	rep, err := fleetusage.Report(ctx, gw, f)
	if err != nil {
		return err
	}
	b := rep.Budgets
	b.Agents = maps.Clone(b.Agents)
	switch {
	case len(args) == 1:
		if b.Agents == nil {
			b.Agents = map[string]float64{}
		}
		b.Agents[args[0]] = opts.usd
	case flags.Changed("usd"):
		b.AgentUSD = opts.usd
	}
	if flags.Changed("fleet-usd") {
		b.FleetUSD = opts.fleetUSD
	}
	rep, err = fleetusage.SetBudgets(ctx, gw, f, b)
	if err != nil {
		return err
	}
	limit := func(v float64) string {
		if v == 0 {
			return "none"
		}
		return fmt.Sprintf("$%.2f", v)
	}
	if len(args) == 1 {
		fmt.Fprintf(dockerCli.Out(), "%s: limit %s\n", args[0], limit(rep.Budgets.Of(args[0])))
	} else if flags.Changed("usd") {
		fmt.Fprintf(dockerCli.Out(), "Every agent without its own limit: %s\n", limit(rep.Budgets.AgentUSD))
	}
	if flags.Changed("fleet-usd") {
		fmt.Fprintf(dockerCli.Out(), "The fleet: %s\n", limit(rep.Budgets.FleetUSD))
	}
	return nil
}
