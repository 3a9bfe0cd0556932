package main

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/internal/auth"
	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/fleetauth"
)

type authExportOptions struct {
	envFile string
}

func authExportCmd(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	var opts authExportOptions
	cmd := &cobra.Command{
		Use:     "export [OPTIONS]",
		Short:   "Write the credential into an env file, for docker run --env-file",
		Example: `  docker magents auth export > claude-login.json      # the host's Claude login, for auth setup elsewhere`,
		Long: `Write the credential in effect into an env file (mode 0600; default .env, as in
the guide) for those who run 'docker run --env-file' themselves. A credential given
that way shows in 'docker inspect', which is why 'docker magents up' never does this.`,
		Args: cli.NoArgs,
		RunE: withSignals(func(ctx context.Context) error {
			return runAuthExport(dockerCli, root, opts)
		}),
	}
	cmd.Flags().StringVar(&opts.envFile, "env-file", ".env", "File to write")
	return cmd
}

func runAuthExport(dockerCli command.Cli, root *rootOptions, opts authExportOptions) error {
	f, err := root.authProject()
	if err != nil {
		return err
	}
	eff, err := fleetauth.Effective(dockerCli, f, nil)
	if err != nil {
		return err
	}
	if eff.Credential == nil {
		return errors.New("the credential in effect is the host's own Claude login, which is a file, not a variable: " +
			"run 'docker magents auth setup' for a token that can be exported")
	}
	if err := auth.WriteEnvFile(opts.envFile, *eff.Credential); err != nil {
		return err
	}
	fmt.Fprintf(dockerCli.Out(), "Wrote %s to %s (mode 0600).\n", eff.Credential, opts.envFile)
	fmt.Fprintln(dockerCli.Err(), "warning: a credential given with --env-file shows in 'docker inspect' of every container started with it.")
	abs, _ := filepath.Abs(opts.envFile)
	if err := fleet.IgnoreInGit(filepath.Dir(abs), "# credentials exported by docker magents auth export", filepath.Base(abs)); err != nil {
		fmt.Fprintf(dockerCli.Err(), "warning: could not add %s to .gitignore: %v\n", opts.envFile, err)
	}
	if tracked(opts.envFile) {
		fmt.Fprintf(dockerCli.Err(), "warning: %s is tracked by git: remove it from the repository (git rm --cached %s) and add it to .gitignore.\n", opts.envFile, opts.envFile)
	}
	return nil
}

// tracked reports whether git tracks the file.
func tracked(path string) bool {
	cmd := exec.Command("git", "ls-files", "--error-unmatch", filepath.Base(path))
	cmd.Dir = filepath.Dir(path)
	return cmd.Run() == nil
}
