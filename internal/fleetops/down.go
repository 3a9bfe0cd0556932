package fleetops

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/docker/cli/cli/config"
	mobyclient "github.com/moby/moby/client"
	"golang.org/x/sync/errgroup"

	"github.com/docker-magents/docker-magents/internal/agentclone"
	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/shellout"
	"github.com/docker-magents/docker-magents/internal/workspace"
)

// DownRequest is what down is asked to do to the fleet f (read under its lock).
type DownRequest struct {
	Fleet *fleet.Fleet
	// Volumes removes the project's named volumes too: config, clones, and those kept from
	// agents an earlier scale-down removed. The workspace is never touched.
	Volumes bool
	// Force removes clones that hold work the host does not have.
	Force bool
	// Log takes what down removes, as it goes (the command's standard error).
	Log io.Writer
}

// Down stops and removes the fleet's containers, and with Volumes its volumes; a clone
// holding work the host does not have is kept, and nothing removed, unless forced.
func (s *Service) Down(ctx context.Context, req DownRequest) error {
	f := req.Fleet
	if req.Volumes && !req.Force && f.Isolation == workspace.Clone {
		if err := s.checkClonesSaved(ctx, f); err != nil {
			return err
		}
	}
	c, err := shellout.New(s.cli).Compose(ctx)
	if err != nil {
		return err
	}
	args := []string{"down", "--remove-orphans"}
	if req.Volumes {
		args = append(args, "--volumes")
	}
	if err := shellout.Run(c.Command(ctx, f.ComposeFile, f.Project, ComposeArgs(f, args...)...)); err != nil {
		return err
	}
	if !req.Volumes {
		return nil
	}
	// Volumes kept from agents removed by an earlier scale-down are no longer in the file,
	// so compose does not remove them: remove the project's remaining named volumes too.
	vols, err := s.projectVolumes(ctx, f)
	if err != nil {
		return err
	}
	for _, v := range vols {
		if _, err := s.cli.Client().VolumeRemove(ctx, v.Name, mobyclient.VolumeRemoveOptions{}); err != nil {
			return fmt.Errorf("removing volume %s: %w", v.Name, err)
		}
		fmt.Fprintf(req.Log, "Volume %s removed\n", v.Name)
	}
	// Its volumes gone, the project is free for another checkout.
	return f.RemoveOwner(config.Dir())
}

// projectVolumes are the named volumes of f's project.
func (s *Service) projectVolumes(ctx context.Context, f *fleet.Fleet) ([]volumeSummary, error) {
	vols, err := s.cli.Client().VolumeList(ctx, mobyclient.VolumeListOptions{
		Filters: make(mobyclient.Filters).Add("label", fleet.ComposeProjectLabel+"="+f.Project),
	})
	if err != nil {
		return nil, fmt.Errorf("listing project %s's volumes: %w", f.Project, err)
	}
	out := make([]volumeSummary, 0, len(vols.Items))
	for _, v := range vols.Items {
		out = append(out, volumeSummary{Name: v.Name, Labels: v.Labels})
	}
	return out, nil
}

type volumeSummary struct {
	Name   string
	Labels map[string]string
}

// cloneChecksAtOnce is how many agents' clones down checks at once.
const cloneChecksAtOnce = 8

// checkClonesSaved refuses to remove clone volumes that hold work the host repository
// does not have, naming each agent and what it holds.
func (s *Service) checkClonesSaved(ctx context.Context, f *fleet.Fleet) error {
	repo, err := workspace.Open(f.Abs(f.Workspace))
	if err != nil || repo == nil {
		return fmt.Errorf("cannot check the agents' clones against the workspace %s (no longer a git repository?): give --force to remove them anyway", f.Abs(f.Workspace))
	}
	vols, err := s.projectVolumes(ctx, f)
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
	for _, v := range vols {
		agent, ok := strings.CutSuffix(v.Labels[fleet.ComposeVolumeLabel], "-work")
		if !ok {
			continue
		}
		g.Go(func() error {
			work, err := agentclone.Work(gctx, s.cli, f, repo, agent)
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
