package main

import (
	"context"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/images"
	"github.com/docker-magents/docker-magents/internal/deploy"
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
	flags.StringVar(&opts.cloudrun.ServiceAccount, "service-account", "", "Service account the agents run as: their own, with no roles but reading the secret (required: the default one's token would reach them)")
	return cmd
}

func runDeployCloudRun(ctx context.Context, dockerCli command.Cli, root *rootOptions, opts deployCloudRunOptions) error {
	f, env, c, err := deployInputs(dockerCli, root, opts.deployOptions, "the service names its variable (the value stays in Secret Manager)")
	if err != nil {
		return err
	}
	if opts.image == "" && f.Image == images.Repository+":latest" {
		f.Image = images.Repository + ":cloudrun" // the variant built for Cloud Run
	}
	o := opts.cloudrun
	o.Templates, o.Env, o.Var = opts.templates, env, c.Var
	if o.Secret == "" {
		o.Secret = deploy.AuthSecretName(f.Project)
	}
	docs, err := deploy.CloudRun(f, o)
	if err != nil {
		return err
	}
	if err := printExceptions(dockerCli, f, "cloudrun"); err != nil {
		return err
	}
	return deploy.WriteWithCommands(dockerCli.Out(), dockerCli.Err(), opts.output, docs, "cloudrun-commands.sh", deploy.CloudRunCommands(f, o))
}
