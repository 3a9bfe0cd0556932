package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/internal/atomicfile"
	"github.com/docker-magents/docker-magents/internal/deploy"
	"github.com/docker-magents/docker-magents/internal/fleetauth"
	"github.com/docker-magents/docker-magents/internal/shellout"
)

type authDeployOptions struct {
	output    string
	templates string
	arn       string
	apply     bool
}

func authDeployCmd(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	var opts authDeployOptions
	cmd := &cobra.Command{
		Use:   "deploy k8s|swarm|ecs [OPTIONS]",
		Short: "Render the shared credential for Kubernetes, Swarm or ECS",
		Long: `Render the credential in effect for another target: a Kubernetes Secret
(claude-auth-secret.yaml), a swarm secret, or the input of 'aws secretsmanager
create-secret' with the task definition's secrets entry that references it.
Printed to stdout, or written with mode 0600 with -o DIR. Nothing is applied
without --apply (swarm: docker secret create on the current engine).`,
		Example: `  docker magents auth deploy k8s -o deploy/
  docker magents auth deploy ecs --arn arn:aws:secretsmanager:eu-west-1:123456789012:secret:docker-magents/claude-auth-magents
  docker magents auth deploy swarm --apply`,
		Args:      cli.ExactArgs(1),
		ValidArgs: []string{"k8s", "swarm", "ecs"},
		RunE: withArgs(func(ctx context.Context, args []string) error {
			return runAuthDeploy(ctx, dockerCli, root, args[0], opts)
		}),
	}
	flags := cmd.Flags()
	flags.StringVarP(&opts.output, "output", "o", "", "Write the files into this directory (mode 0600) instead of printing them")
	flags.StringVar(&opts.templates, "templates", "", "Directory of templates that override the built-in ones")
	flags.StringVar(&opts.arn, "arn", "", "ecs: the secret's ARN, once it exists (default: a placeholder to replace)")
	flags.BoolVar(&opts.apply, "apply", false, "swarm: create the secret on the current engine (a swarm manager)")
	return cmd
}

func runAuthDeploy(ctx context.Context, dockerCli command.Cli, root *rootOptions, target string, opts authDeployOptions) error {
	f, err := root.authProject()
	if err != nil {
		return err
	}
	eff, err := fleetauth.Effective(dockerCli, f, nil)
	if err != nil {
		return err
	}
	c := *eff.Credential
	switch target {
	case "k8s":
		b, err := deploy.AuthSecretK8s(opts.templates, f.Project, c)
		if err != nil {
			return err
		}
		return emit(dockerCli, opts.output, map[string][]byte{"claude-auth-secret.yaml": b})
	case "ecs":
		arn := opts.arn
		if arn == "" {
			arn = "arn:aws:secretsmanager:REGION:ACCOUNT:secret:docker-magents/" + deploy.AuthSecretName(f.Project)
		}
		create, task, err := deploy.AuthSecretECS(opts.templates, f.Project, c, arn)
		if err != nil {
			return err
		}
		return emit(dockerCli, opts.output, map[string][]byte{"create-secret.json": create, "task-secrets.json": task})
	case "swarm":
		name := deploy.AuthSecretName(f.Project)
		if !opts.apply {
			fmt.Fprintf(dockerCli.Out(), "Would create swarm secret %s holding %s.\nCreate it on the current engine (a swarm manager): docker magents auth deploy swarm --apply\n", name, c)
			return nil
		}
		cmd := shellout.New(dockerCli).Command(ctx, "secret", "create",
			"--label", "io.docker-magents.project="+f.Project, "--label", "io.docker-magents.var="+c.Var, name, "-")
		cmd.Stdin = strings.NewReader(c.Value)
		if err := shellout.Run(cmd); err != nil {
			return fmt.Errorf("creating swarm secret %s: %w (is this engine a swarm manager? docker swarm init)", name, err)
		}
		return nil
	}
	return errors.New("unknown target " + target + ": use k8s, swarm or ecs")
}

// emit prints the files, or writes them into dir with mode 0600 (they hold a credential).
func emit(dockerCli command.Cli, dir string, files map[string][]byte) error {
	if dir == "" {
		for _, name := range sortedKeys(files) {
			if len(files) > 1 {
				fmt.Fprintf(dockerCli.Out(), "# %s\n", name)
			}
			if _, err := dockerCli.Out().Write(files[name]); err != nil {
				return err
			}
		}
		return nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for _, name := range sortedKeys(files) {
		path := filepath.Join(dir, name)
		if err := atomicfile.Write(path, files[name], 0o600); err != nil {
			return err
		}
		fmt.Fprintf(dockerCli.Err(), "Wrote %s (mode 0600: it holds the credential)\n", path)
	}
	return nil
}

func sortedKeys(m map[string][]byte) []string {
	return slices.Sorted(maps.Keys(m))
}
