package main

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"syscall"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli-plugins/plugin"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
)

func newRootCmd(dockerCli command.Cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "magents",
		Short: "Run fleets of Claude Code agents in containers",
		Long: `docker magents builds the Claude Code agent images with BuildKit and runs
fleets of agents, each in its own container with a persistent tmux session.`,
		SilenceUsage:  true,
		SilenceErrors: true,
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
	cmd.AddCommand(
		buildCmd(dockerCli),
		versionCmd(dockerCli),
	)
	return cmd
}

// withSignals runs fn with a context that SIGINT and SIGTERM cancel; a cancelled run
// exits 130, like buildx and compose.
func withSignals(fn func(ctx context.Context) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, _ []string) error {
		ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		err := fn(ctx)
		if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
			return cli.StatusError{StatusCode: 130, Status: "cancelled"}
		}
		return err
	}
}
