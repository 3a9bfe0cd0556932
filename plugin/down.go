package main

import (
	"context"
	"fmt"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	mobyclient "github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/internal/shellout"
)

type downOptions struct {
	volumes bool
}

func downCmd(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	var opts downOptions
	cmd := &cobra.Command{
		Use:   "down [OPTIONS]",
		Short: "Stop and remove the fleet's containers (config volumes are kept unless --volumes)",
		Args:  cli.NoArgs,
		RunE: withSignals(func(ctx context.Context) error {
			return runDown(ctx, dockerCli, root, opts)
		}),
	}
	cmd.Flags().BoolVarP(&opts.volumes, "volumes", "v", false, "Also remove the agents' named config volumes (the workspace is never touched)")
	return cmd
}

func runDown(ctx context.Context, dockerCli command.Cli, root *rootOptions, opts downOptions) error {
	f, unlock, err := root.lockFleet()
	if err != nil {
		return err
	}
	defer unlock()
	c, err := shellout.New(dockerCli).Compose(ctx)
	if err != nil {
		return err
	}
	args := []string{"down", "--remove-orphans"}
	if opts.volumes {
		args = append(args, "--volumes")
	}
	if err := shellout.Run(c.Command(ctx, f.ComposeFile, f.Project, args...)); err != nil {
		return err
	}
	if !opts.volumes {
		return nil
	}
	// Volumes kept from agents removed by an earlier scale-down are no longer in the file,
	// so compose does not remove them: remove the project's remaining named volumes too.
	vols, err := dockerCli.Client().VolumeList(ctx, mobyclient.VolumeListOptions{
		Filters: make(mobyclient.Filters).Add("label", "com.docker.compose.project="+f.Project),
	})
	if err != nil {
		return err
	}
	for _, v := range vols.Items {
		if _, err := dockerCli.Client().VolumeRemove(ctx, v.Name, mobyclient.VolumeRemoveOptions{}); err != nil {
			return fmt.Errorf("removing volume %s: %w", v.Name, err)
		}
		fmt.Fprintf(dockerCli.Err(), "Volume %s removed\n", v.Name)
	}
	return nil
}
