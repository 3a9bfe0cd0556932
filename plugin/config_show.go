package main

import (
	"context"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/format"
	"github.com/docker-magents/docker-magents/internal/sharedconfig"
)

type configShowOptions struct {
	format string
}

func configShowCmd(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	var opts configShowOptions
	cmd := &cobra.Command{
		Use:   "show [OPTIONS] [AGENT...]",
		Short: "Show the shared config each agent effectively has (paths, digests; secrets redacted)",
		Example: `  docker magents config show agent-1
  docker magents config show --format json`,
		RunE: withArgs(func(ctx context.Context, args []string) error {
			return runConfigShow(ctx, dockerCli, root, args, opts)
		}),
	}
	cmd.Flags().StringVar(&opts.format, "format", "table", format.Usage)
	return cmd
}

func runConfigShow(ctx context.Context, dockerCli command.Cli, root *rootOptions, agents []string, opts configShowOptions) error {
	fmtr, err := format.Parse(opts.format)
	if err != nil {
		return err
	}
	f, err := root.loadFleet()
	if err != nil {
		return err
	}
	agents, err = checkAgentNames(f, agents)
	if err != nil {
		return err
	}
	shown, err := sharedconfig.Show(ctx, dockerCli.Client(), f, agents)
	if err != nil {
		return err
	}
	if !fmtr.IsTable() {
		return format.Value(dockerCli.Out(), fmtr, shown, nil)
	}
	shown.WriteTable(dockerCli.Out())
	return nil
}

// checkAgentNames defaults to every agent, names each agent-N, and refuses names the
// fleet does not have.
func checkAgentNames(f *fleet.Fleet, agents []string) ([]string, error) {
	if len(agents) == 0 {
		return f.AgentNames(), nil
	}
	out := make([]string, len(agents))
	for i, a := range agents {
		name, err := f.Agent(a)
		if err != nil {
			return nil, err
		}
		out[i] = name
	}
	return out, nil
}
