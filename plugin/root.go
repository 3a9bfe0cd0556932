package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli-plugins/plugin"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/fleetops"
	"github.com/docker-magents/docker-magents/internal/shellout"
)

// rootOptions are the flags of `docker magents` itself, given before the subcommand
// (docker magents -f x.yml logs -f agent-1), as in docker compose.
type rootOptions struct {
	file    string
	project string
}

func newRootCmd(dockerCli command.Cli) *cobra.Command {
	var root rootOptions
	cmd := &cobra.Command{
		Use:   "magents",
		Short: "Run fleets of Claude Code agents in containers",
		Long: `docker magents builds the Claude Code agent images with BuildKit and runs
fleets of agents, each in its own container with a persistent tmux session.`,
		SilenceUsage:     true,
		SilenceErrors:    true,
		TraverseChildren: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			// The plugin framework initialises the docker CLI (context, DOCKER_HOST, TLS) here.
			return plugin.PersistentPreRunE(cmd, args)
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return cli.StatusError{StatusCode: 1, Status: "docker magents: unknown command: " + args[0] + "\nSee 'docker magents --help'."}
			}
			return cmd.Help()
		},
	}
	cmd.Flags().StringVarP(&root.file, "file", "f", fleet.DefaultFile, "Compose file of the fleet")
	cmd.Flags().StringVarP(&root.project, "project-name", "p", "", `Project name (default: $COMPOSE_PROJECT_NAME, else the file's, else its directory's name, as compose names a project)`)
	cmd.AddCommand(
		buildCmd(dockerCli, &root),
		upCmd(dockerCli, &root),
		psCmd(dockerCli, &root),
		waitCmd(dockerCli, &root),
		attachCmd(dockerCli, &root),
		logsCmd(dockerCli, &root),
		execCmd(dockerCli, &root),
		downCmd(dockerCli, &root),
		authCmd(dockerCli, &root),
		diffCmd(dockerCli, &root),
		taskCmd(dockerCli, &root),
		resultsCmd(dockerCli, &root),
		mergeCmd(dockerCli, &root),
		pushCmd(dockerCli, &root),
		worktreeCmd(dockerCli, &root),
		doctorCmd(dockerCli, &root),
		deployCmd(dockerCli, &root),
		egressCmd(dockerCli, &root),
		usageCmd(dockerCli, &root),
		budgetCmd(dockerCli, &root),
		queueCmd(dockerCli, &root),
		dashboardCmd(dockerCli, &root),
		configCmd(dockerCli, &root),
		versionCmd(dockerCli),
	)
	addCompletion(cmd, &root)
	return cmd
}

// recordsDir is where the records of what docker magents wrote are kept (fleet.Record):
// under the Docker config dir, out of every agent's reach.
func recordsDir() string { return fleetops.RecordsDir() }

// projectName is -p, else COMPOSE_PROJECT_NAME, as in compose ("" when neither is set).
func (r *rootOptions) projectName() string {
	if r.project != "" {
		return r.project
	}
	return os.Getenv("COMPOSE_PROJECT_NAME")
}

// composePath is the compose file's absolute path.
func (r *rootOptions) composePath() (string, error) {
	return filepath.Abs(r.file)
}

// fleetOrNew reads the fleet saved in the compose file, or returns the defaults of the
// project `up` would create there (saved reports which). -p must match a saved project.
func (r *rootOptions) fleetOrNew() (f *fleet.Fleet, saved bool, err error) {
	path, err := r.composePath()
	if err != nil {
		return nil, false, err
	}
	f, saved, err = fleetops.Open(path, r.projectName())
	if mismatch, ok := errors.AsType[*fleetops.ProjectMismatch](err); ok {
		return nil, false, r.mismatch(mismatch)
	}
	return f, saved, err
}

// mismatch says how to act on the compose file's own project rather than the one asked.
func (r *rootOptions) mismatch(m *fleetops.ProjectMismatch) error {
	how := "drop -p"
	if r.project == "" {
		how = "unset COMPOSE_PROJECT_NAME"
	}
	return errors.New(r.file + " belongs to project " + m.Saved + ", not " + m.Asked + ": " + how + " or give the project's own file with -f")
}

// loadFleet reads the fleet that `up` saved in the compose file.
func (r *rootOptions) loadFleet() (*fleet.Fleet, error) {
	f, saved, err := r.fleetOrNew()
	if err != nil {
		return nil, err
	}
	if !saved {
		return nil, errors.New("no fleet: " + r.file + " does not exist. Start one with 'docker magents up', or give its file with -f")
	}
	return f, nil
}

// lockFleet is loadFleet under the project lock (see fleet.Lock), taken before the file
// is read; call unlock when done.
func (r *rootOptions) lockFleet() (f *fleet.Fleet, unlock func(), err error) {
	path, err := r.composePath()
	if err != nil {
		return nil, nil, err
	}
	if _, err := os.Stat(path); err != nil {
		_, err := r.loadFleet() // says there is no fleet, or why it cannot be read
		return nil, nil, err
	}
	if unlock, err = fleet.LockFor(path); err != nil {
		return nil, nil, err
	}
	if f, err = r.loadFleet(); err != nil {
		unlock()
		return nil, nil, err
	}
	return f, unlock, nil
}

// withSignals runs fn with a context that SIGINT and SIGTERM cancel; a cancelled run
// exits 130, like buildx and compose.
func withSignals(fn func(ctx context.Context) error) func(*cobra.Command, []string) error {
	return withArgs(func(ctx context.Context, _ []string) error { return fn(ctx) })
}

func withArgs(fn func(ctx context.Context, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		err := fn(ctx, args)
		if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
			return cli.StatusError{StatusCode: 130, Status: "cancelled"}
		}
		return exitStatus(err)
	}
}

// exitStatus gives an error from a command that docker magents ran (compose, docker
// exec, docker logs) the command's own exit code, keeping the whole message.
func exitStatus(err error) error {
	if _, ok := errors.AsType[cli.StatusError](err); ok {
		return err
	}
	if exit, ok := errors.AsType[*shellout.ExitError](err); ok {
		return cli.StatusError{Cause: err, Status: err.Error(), StatusCode: exit.Code}
	}
	return err
}
