package main

import (
	"context"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/internal/fleetops"
)

type downOptions struct {
	volumes bool
	force   bool
}

func downCmd(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	var opts downOptions
	cmd := &cobra.Command{
		Use:   "down [OPTIONS]",
		Short: "Stop and remove the fleet's containers (config volumes are kept unless --volumes)",
		Example: `  docker magents down                      # the containers go; volumes stay
  docker magents down --volumes            # the agents' volumes too (refuses clones holding work)`,
		Args: cli.NoArgs,
		RunE: withSignals(func(ctx context.Context) error {
			return runDown(ctx, dockerCli, root, opts)
		}),
	}
	cmd.Flags().BoolVarP(&opts.volumes, "volumes", "v", false, "Also remove the agents' named volumes: config, and clones (the workspace is never touched)")
	cmd.Flags().BoolVar(&opts.force, "force", false, "With --volumes, also remove clones that hold work the host does not have")
	return cmd
}

func runDown(ctx context.Context, dockerCli command.Cli, root *rootOptions, opts downOptions) error {
	f, unlock, err := root.lockFleet()
	if err != nil {
		return err
	}
	defer unlock()
	return fleetops.New(dockerCli).Down(ctx, fleetops.DownRequest{Fleet: f, Volumes: opts.volumes, Force: opts.force, Log: dockerCli.Err()})
}
