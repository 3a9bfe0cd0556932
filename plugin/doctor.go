package main

import (
	"context"
	"errors"
	"io"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/internal/auth"
	"github.com/docker-magents/docker-magents/internal/doctor"
	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/fleetauth"
	"github.com/docker-magents/docker-magents/internal/format"
)

type doctorOptions struct {
	format string
}

func doctorCmd(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	var opts doctorOptions
	cmd := &cobra.Command{
		Use:   "doctor [OPTIONS] [AGENT...]",
		Short: "Check the engine, BuildKit, compose, the image, auth and each agent, and say what to fix",
		Example: `  docker magents doctor                    # the engine, BuildKit, compose, the image, auth and every agent
  docker magents doctor agent-2 --format json`,
		Long: `Check, in order: the Docker engine, BuildKit, compose v2, the agent image and its Claude
Code version, the auth source (redacted), then for each agent (all, or those named): its
container and health, claude --version, the tmux session, a writable config dir and
workspace, its credential and environment (redacted), and its worktree.

Every failure says what to do. Exits 1 when any check fails.`,
		RunE: withArgs(func(ctx context.Context, args []string) error {
			return runDoctor(ctx, dockerCli, root, args, opts)
		}),
	}
	cmd.Flags().StringVar(&opts.format, "format", "table", format.Usage)
	return cmd
}

func runDoctor(ctx context.Context, dockerCli command.Cli, root *rootOptions, agents []string, opts doctorOptions) error {
	fmtr, err := format.Parse(opts.format)
	if err != nil {
		return err
	}
	f, saved, err := root.fleetOrNew()
	if err != nil {
		return err
	}
	for i, a := range agents {
		if !saved {
			return errors.New("no fleet: " + root.file + " does not exist, so there is no " + a + ". Start one with 'docker magents up'")
		}
		if _, err := agentContainer(root, a); err != nil {
			return err
		}
		n, _ := fleet.AgentNumber(a)
		agents[i] = fleet.AgentName(n)
	}
	if len(agents) == 0 && saved {
		agents = f.AgentNames()
	}
	report := doctor.Run(ctx, dockerCli, doctor.Input{
		Fleet: f, Saved: saved, File: root.file, Agents: agents,
		Credential: func() (auth.Effective, error) { return fleetauth.Effective(dockerCli, f, nil) },
	})
	if err := format.Value(dockerCli.Out(), fmtr, report, func(w io.Writer) error { report.WriteTable(w); return nil }); err != nil {
		return err
	}
	if !report.OK {
		return cli.StatusError{StatusCode: 1, Status: "doctor found problems: see the fixes above"}
	}
	return nil
}
