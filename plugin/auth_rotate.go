package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/internal/fleetauth"
	"github.com/docker-magents/docker-magents/internal/fleetstatus"
	"github.com/docker-magents/docker-magents/internal/shellout"
)

type authRotateOptions struct {
	apiKey  bool
	fromEnv bool
	file    string
}

func authRotateCmd(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	var opts authRotateOptions
	cmd := &cobra.Command{
		Use:   "rotate [OPTIONS]",
		Short: "Replace the stored credential and restart Claude in the running agents",
		Long: `Store a new credential and give it to the running agents: the file they read is
replaced and each agent's Claude is restarted (not the container), so the next request
carries the new value. Session history stays in the agents' config volumes.`,
		Example: `  docker magents auth rotate --api-key
  CLAUDE_CODE_OAUTH_TOKEN=… docker magents auth rotate --from-env`,
		Args: cli.NoArgs,
		RunE: withSignals(func(ctx context.Context) error {
			return runAuthRotate(ctx, dockerCli, root, opts)
		}),
	}
	flags := cmd.Flags()
	flags.BoolVar(&opts.apiKey, "api-key", false, "Read a new API key from a prompt or stdin")
	flags.BoolVar(&opts.fromEnv, "from-env", false, "Take the new credential from the environment")
	flags.StringVar(&opts.file, "file", "", "Read the new token or key from this file")
	return cmd
}

func runAuthRotate(ctx context.Context, dockerCli command.Cli, root *rootOptions, opts authRotateOptions) error {
	f, unlock, err := root.lockFleet()
	if err != nil {
		return err
	}
	defer unlock()
	c, err := fleetauth.Read(dockerCli, opts.apiKey, opts.fromEnv, opts.file)
	if err != nil {
		return err
	}
	if c == nil {
		return errors.New("give the new credential: --api-key (prompt or stdin), --file FILE or --from-env")
	}
	if f.AuthLogin != "" || (f.Credential != "" && f.Credential != c.Var) {
		return fmt.Errorf("the agents read %s, the new credential is %s: store it with 'docker magents auth setup' "+
			"and run 'docker magents up', which recreates them for the new kind", orDash(f.Credential), c.Var)
	}
	store := fleetauth.Store(dockerCli, f)
	if err := store.Put(*c); err != nil {
		return err
	}
	if err := f.WriteAgentCredential(c.Var, c.Value); err != nil {
		return err
	}
	statuses, err := fleetstatus.List(ctx, dockerCli.Client(), f, fleetstatus.Options{Live: true})
	if err != nil {
		return err
	}
	docker := shellout.New(dockerCli)
	var failed []string
	for _, s := range statuses {
		if s.ContainerState != "running" {
			continue
		}
		cmd := docker.Command(ctx, "exec", s.Container, "magents-supervisor", "restart")
		cmd.Stdout = nil
		if err := cmd.Run(); err != nil {
			failed = append(failed, s.Agent)
			continue
		}
		fmt.Fprintf(dockerCli.Out(), "%s: Claude restarted with the new credential\n", s.Agent)
	}
	if len(failed) > 0 {
		return fmt.Errorf("could not restart Claude in %v: they read the new credential at their next start", failed)
	}
	fmt.Fprintf(dockerCli.Out(), "Stored %s in the %s.\n", c, store.Name())
	return nil
}
