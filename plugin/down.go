package main

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/config"
	mobyclient "github.com/moby/moby/client"
	"github.com/spf13/cobra"
	"golang.org/x/sync/errgroup"

	"github.com/docker-magents/docker-magents/internal/agentclone"
	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/fleetops"
	"github.com/docker-magents/docker-magents/internal/shellout"
	"github.com/docker-magents/docker-magents/internal/workspace"
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
	if opts.volumes && !opts.force && f.Isolation == workspace.Clone {
		if err := checkClonesSaved(ctx, dockerCli, f); err != nil {
			return err
		}
	}
	c, err := shellout.New(dockerCli).Compose(ctx)
	if err != nil {
		return err
	}
	args := []string{"down", "--remove-orphans"}
	if opts.volumes {
		args = append(args, "--volumes")
	}
	if err := shellout.Run(c.Command(ctx, f.ComposeFile, f.Project, fleetops.ComposeArgs(f, args...)...)); err != nil {
		return err
	}
	if !opts.volumes {
		return nil
	}
	// Volumes kept from agents removed by an earlier scale-down are no longer in the file,
	// so compose does not remove them: remove the project's remaining named volumes too.
	vols, err := dockerCli.Client().VolumeList(ctx, mobyclient.VolumeListOptions{
		Filters: make(mobyclient.Filters).Add("label", fleet.ComposeProjectLabel+"="+f.Project),
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
	// Its volumes gone, the project is free for another checkout.
	return f.RemoveOwner(config.Dir())
}

// cloneChecksAtOnce is how many agents' clones down checks at once.
const cloneChecksAtOnce = 8

// checkClonesSaved refuses to remove clone volumes that hold work the host repository
// does not have, naming each agent and what it holds.
func checkClonesSaved(ctx context.Context, dockerCli command.Cli, f *fleet.Fleet) error {
	repo, err := workspace.Open(f.Abs(f.Workspace))
	if err != nil || repo == nil {
		return fmt.Errorf("cannot check the agents' clones against the workspace %s (no longer a git repository?): give --force to remove them anyway", f.Abs(f.Workspace))
	}
	vols, err := dockerCli.Client().VolumeList(ctx, mobyclient.VolumeListOptions{
		Filters: make(mobyclient.Filters).Add("label", fleet.ComposeProjectLabel+"="+f.Project),
	})
	if err != nil {
		return err
	}
	// A few agents at a time: each check is two execs (or throwaway containers), and a
	// fleet of 64 checked one after another took minutes on a small machine.
	var (
		mu   sync.Mutex
		held []string
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(cloneChecksAtOnce)
	for _, v := range vols.Items {
		agent, ok := strings.CutSuffix(v.Labels[fleet.ComposeVolumeLabel], "-work")
		if !ok {
			continue
		}
		g.Go(func() error {
			work, err := agentclone.Work(gctx, dockerCli, f, repo, agent)
			if err != nil {
				return fmt.Errorf("checking %s's clone: %w (give --force to remove it anyway)", agent, err)
			}
			if work != "" {
				mu.Lock()
				held = append(held, agent+": "+work)
				mu.Unlock()
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	if len(held) > 0 {
		slices.Sort(held)
		return fmt.Errorf("not removing anything: these clones hold work the host does not have:\n  %s\nmerge it first (docker magents merge AGENT), or give --force to delete it", strings.Join(held, "\n  "))
	}
	return nil
}
