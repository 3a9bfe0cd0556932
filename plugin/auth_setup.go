package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/internal/auth"
	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/fleetauth"
	"github.com/docker-magents/docker-magents/internal/shellout"
)

type authSetupOptions struct {
	apiKey  bool
	fromEnv bool
	file    string
	image   string
}

func authSetupCmd(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	var opts authSetupOptions
	cmd := &cobra.Command{
		Use:   "setup [OPTIONS]",
		Short: "Make and store the credential the agents share",
		Long: `Without options, runs 'claude setup-token' in a throwaway agent container (it
needs a terminal and a browser to sign in), captures the long-lived token it prints,
and stores it. --api-key reads an API key instead (from a prompt that does not echo,
or from stdin); --from-env takes the credential from the environment.`,
		Example: `  docker magents auth setup
  docker magents auth setup --api-key
  pass show anthropic/key | docker magents auth setup --api-key
  docker magents auth setup --from-env`,
		Args: cli.NoArgs,
		RunE: withSignals(func(ctx context.Context) error {
			return runAuthSetup(ctx, dockerCli, root, opts)
		}),
	}
	flags := cmd.Flags()
	flags.BoolVar(&opts.apiKey, "api-key", false, "Store an API key, read from a prompt or stdin")
	flags.BoolVar(&opts.fromEnv, "from-env", false, "Store the credential found in the environment")
	flags.StringVar(&opts.file, "file", "", "Store the token or key in this file")
	flags.StringVar(&opts.image, "image", fleet.DefaultImage, "Image that runs 'claude setup-token'")
	return cmd
}

func runAuthSetup(ctx context.Context, dockerCli command.Cli, root *rootOptions, opts authSetupOptions) error {
	f, err := root.authProject()
	if err != nil {
		return err
	}
	c, err := fleetauth.Read(dockerCli, opts.apiKey, opts.fromEnv, opts.file)
	if err != nil {
		return err
	}
	if c == nil {
		if c, err = setupToken(ctx, dockerCli, opts.image); err != nil {
			return err
		}
	}
	store := fleetauth.Store(dockerCli, f)
	if err := store.Put(*c); err != nil {
		return err
	}
	fmt.Fprintf(dockerCli.Out(), "Stored %s for project %s in the %s.\n", c, f.Project, store.Name())
	fmt.Fprintln(dockerCli.Out(), "Start agents with it: docker magents up; give running agents a new one: docker magents auth rotate")
	return nil
}

var setupTokenPattern = regexp.MustCompile(`sk-ant-oat[0-9]{2}-[A-Za-z0-9_-]{20,}`)

// setupToken runs `claude setup-token` in a throwaway agent container on the user's
// terminal and captures the token it prints.
func setupToken(ctx context.Context, dockerCli command.Cli, image string) (*auth.Credential, error) {
	if !dockerCli.In().IsTerminal() {
		return nil, errors.New("claude setup-token needs a terminal (it signs you in through a browser): " +
			"run this in an interactive shell, or store an existing credential with --api-key or --from-env")
	}
	var screen bytes.Buffer
	cmd := shellout.New(dockerCli).Command(ctx, "run", "--rm", "-it", image, "claude", "setup-token")
	cmd.Stdout = io.MultiWriter(os.Stdout, &screen)
	if err := shellout.Run(cmd); err != nil {
		return nil, fmt.Errorf("claude setup-token: %w", err)
	}
	tok := extractSetupToken(screen.String())
	if tok == "" {
		return nil, errors.New("claude setup-token printed no token: nothing was stored. Run it again, or store one with --file")
	}
	c, err := auth.New("CLAUDE_CODE_OAUTH_TOKEN", tok)
	return &c, err
}

var ansi = regexp.MustCompile(`\x1b(\[[0-9;?<=>]*[ -/]*[@-~]|\][^\x07]*\x07|[()][0-9A-Za-z])`)

// extractSetupToken finds the token in what setup-token's UI drew.
func extractSetupToken(screen string) string {
	return setupTokenPattern.FindString(ansi.ReplaceAllString(screen, ""))
}
