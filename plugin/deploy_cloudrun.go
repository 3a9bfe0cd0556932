package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/compose"
	"github.com/docker-magents/docker-magents/images"
	"github.com/docker-magents/docker-magents/internal/auth"
	"github.com/docker-magents/docker-magents/internal/deploy"
	"github.com/docker-magents/docker-magents/internal/fleet"
)

type deployCloudRunOptions struct {
	deployOptions
	cloudrun deploy.CloudRunOptions
}

func deployCloudRunCmd(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	var opts deployCloudRunOptions
	cmd := &cobra.Command{
		Use:   "cloudrun [OPTIONS]",
		Short: "Render a Google Cloud Run service per agent, and the commands that deploy them",
		Long: `Render one Cloud Run service (Knative serving v1) per agent (agent-N/service.yaml): the
cloudrun image, the supervisor's health endpoint on port 8080 as startup and liveness
probe, one instance always allocated, 4Gi / 2 CPU by default, and the credential from
Secret Manager (its latest version). The gcloud commands that deploy them are printed;
nothing is sent to Google Cloud.`,
		Example: `  docker magents deploy cloudrun --region europe-west1 --secret claude-auth-magents -o cloudrun/`,
		Args:    cobra.NoArgs,
		RunE: withSignals(func(ctx context.Context) error {
			return runDeployCloudRun(ctx, dockerCli, root, opts)
		}),
	}
	flags := cmd.Flags()
	opts.addFlags(flags)
	flags.StringVar(&opts.cloudrun.Secret, "secret", "", "Secret Manager secret that holds the credential (default claude-auth-PROJECT)")
	flags.StringVar(&opts.cloudrun.Region, "region", "", "Cloud Run region")
	flags.StringVar(&opts.cloudrun.ServiceAccount, "service-account", "", "Service account the agents run as (optional)")
	return cmd
}

func runDeployCloudRun(ctx context.Context, dockerCli command.Cli, root *rootOptions, opts deployCloudRunOptions) error {
	f, err := deployFleet(root, opts.deployOptions, fleet.MaxAgents)
	if err != nil {
		return err
	}
	if opts.image == "" && f.Image == images.Repository+":latest" {
		f.Image = images.Repository + ":cloudrun" // the variant built for Cloud Run
	}
	env, err := compose.ReadEnvFile(f.Abs(f.EnvFile))
	if err != nil {
		return err
	}
	eff, err := effectiveCredential(dockerCli, f, nil)
	switch {
	case errors.Is(err, auth.ErrNoCredential):
		return fmt.Errorf("%w: the service names its variable (the value stays in Secret Manager)", err)
	case err != nil:
		return err
	case eff.Credential == nil:
		return errors.New("a host login cannot be shared by agents on Cloud Run (its refresh token is single-use): give a token from 'claude setup-token' or an API key (docker magents auth setup)")
	}
	o := opts.cloudrun
	o.Templates, o.Env, o.Var = opts.templates, env, eff.Credential.Var
	if o.Secret == "" {
		o.Secret = deploy.AuthSecretName(f.Project)
	}
	docs, err := deploy.CloudRun(f, o)
	if err != nil {
		return err
	}
	commands := deploy.CloudRunCommands(f, o)
	files := make([]deployFile, 0, len(docs)+1)
	for _, d := range docs {
		files = append(files, deployFile{name: d.Name, content: d.Content})
	}
	if opts.output == "" {
		if err := writeDeployFiles(dockerCli, "", files); err != nil {
			return err
		}
		fmt.Fprint(dockerCli.Err(), "\nThen, in the directory of the files:\n"+commands)
		return nil
	}
	files = append(files, deployFile{name: "cloudrun-commands.sh", content: []byte("#!/bin/sh\nset -e\n" + commands)})
	return writeDeployFiles(dockerCli, opts.output, files)
}
