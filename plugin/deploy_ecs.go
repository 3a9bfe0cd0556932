package main

import (
	"context"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/internal/deploy"
)

type deployECSOptions struct {
	deployOptions
	ecs     deploy.ECSOptions
	cluster string
}

func deployECSCmd(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	var opts deployECSOptions
	cmd := &cobra.Command{
		Use:   "ecs [OPTIONS]",
		Short: "Render an AWS ECS (Fargate) task definition per agent, and the commands that run them",
		Long: `Render one ECS task definition per agent (agent-N/task-definition.json; each agent has
its own, since its AGENT_ID and task differ and an ECS service cannot override a
container): Fargate, the credential from Secrets Manager (secrets[].valueFrom, never in the
definition), the supervisor as health check, the agent's workspace and Claude config dir
on EFS (/PROJECT/agent-N/…), awslogs logging. Each is decoded strictly into the ECS API's
RegisterTaskDefinitionInput. The aws commands that register them and run each agent as a
one-task service are printed; nothing is sent to AWS.`,
		Example: `  docker magents auth deploy ecs            # the secret, then:
  docker magents deploy ecs --region eu-west-1 --secret-arn ARN --execution-role-arn ARN --efs-id fs-… -o ecs/`,
		Args: cobra.NoArgs,
		RunE: withSignals(func(ctx context.Context) error {
			return runDeployECS(ctx, dockerCli, root, opts)
		}),
	}
	flags := cmd.Flags()
	opts.addFlags(flags)
	flags.StringVar(&opts.ecs.SecretARN, "secret-arn", "", "ARN of the Secrets Manager secret that holds the credential")
	flags.StringVar(&opts.ecs.ExecutionRoleARN, "execution-role-arn", "", "Task execution role (reads the secret, writes logs)")
	flags.StringVar(&opts.ecs.TaskRoleARN, "task-role-arn", "", "Task role: what the agents may do in AWS (optional)")
	flags.StringVar(&opts.ecs.EFSID, "efs-id", "", "EFS file system for the workspaces and config dirs")
	flags.StringVar(&opts.ecs.Region, "region", "", "AWS region")
	flags.StringVar(&opts.cluster, "cluster", "default", "ECS cluster, in the printed commands")
	return cmd
}

func runDeployECS(ctx context.Context, dockerCli command.Cli, root *rootOptions, opts deployECSOptions) error {
	f, env, c, err := deployInputs(dockerCli, root, opts.deployOptions, "the task definition names its variable (the value stays in Secrets Manager)")
	if err != nil {
		return err
	}
	o := opts.ecs
	o.Templates, o.Env, o.Var = opts.templates, env, c.Var
	docs, err := deploy.ECS(f, o)
	if err != nil {
		return err
	}
	if err := printExceptions(dockerCli, f, "ecs"); err != nil {
		return err
	}
	return deploy.WriteWithCommands(dockerCli.Out(), dockerCli.Err(), opts.output, docs, "ecs-commands.sh", deploy.ECSCommands(f, o, opts.cluster))
}
