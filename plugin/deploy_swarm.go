package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"path/filepath"
	"time"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/compose"
	"github.com/docker-magents/docker-magents/internal/deploy"
	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/shellout"
	"github.com/docker-magents/docker-magents/internal/swarmstack"
)

// StackFileName is the stack file deploy swarm writes.
const StackFileName = "docker-stack.claude.yml"

type deploySwarmOptions struct {
	deployOptions
	apply   bool
	timeout time.Duration
}

func deploySwarmCmd(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	var opts deploySwarmOptions
	cmd := &cobra.Command{
		Use:   "swarm [OPTIONS]",
		Short: "Render the fleet as a Swarm stack file; --apply deploys it with docker stack deploy",
		Long: `Render the fleet as a Swarm stack file (compose format 3.9, as docker stack deploy reads
it): one service per agent (agent-1 …, one replica each) with its own volumes for Claude's
config and the workspace, deploy resources and restart policy, and the credential as a
Swarm secret (its name carries a digest of the value, so a rotated credential is a new
secret). The shared env file's settings are written into each service.

--apply runs docker stack deploy (the project name is the stack's) and waits until every
agent's task is running and healthy. docker stack rm PROJECT removes the services and
keeps the volumes.`,
		Example: `  docker magents deploy swarm -o deploy/
  docker magents deploy swarm --apply --agents 3
  docker magents attach --swarm agent-1`,
		Args: cobra.NoArgs,
		RunE: withSignals(func(ctx context.Context) error {
			return runDeploySwarm(ctx, dockerCli, root, opts)
		}),
	}
	opts.addFlags(cmd.Flags())
	cmd.Flags().BoolVar(&opts.apply, "apply", false, "Deploy the stack (docker stack deploy) and wait until every agent is running and healthy")
	cmd.Flags().DurationVar(&opts.timeout, "timeout", 3*time.Minute, "With --apply, how long to wait for the agents")
	return cmd
}

func runDeploySwarm(ctx context.Context, dockerCli command.Cli, root *rootOptions, opts deploySwarmOptions) error {
	// It writes the agents' credential file as up does: under the project lock, taken
	// before the fleet is read.
	path, err := root.composePath()
	if err != nil {
		return err
	}
	unlock, err := fleet.LockFor(path)
	if err != nil {
		return err
	}
	defer unlock()
	f, env, c, err := deployInputs(dockerCli, root, opts.deployOptions, swarmWhere)
	if err != nil {
		return err
	}
	// The secret's file: the one up keeps for the agents, read by docker stack deploy.
	if err := f.WriteAgentCredential(c.Var, c.Value); err != nil {
		return err
	}
	sum := sha256.Sum256([]byte(c.Value))
	secret := &compose.StackSecret{
		Var:  c.Var,
		File: f.CredentialFile(c.Var),
		Name: "claude-auth-" + f.Project + "-" + hex.EncodeToString(sum[:])[:12],
	}
	// The shared agent config's files, where docker stack deploy reads them into configs.
	configs, err := compose.WriteStackConfigs(f, filepath.Join(f.StateDir(), "swarm-config"))
	if err != nil {
		return err
	}
	stack, err := compose.Stack(f, secret, env, configs)
	if err != nil {
		return err
	}
	if err := printExceptions(dockerCli, f, "swarm"); err != nil {
		return err
	}
	if !opts.apply || opts.output != "" {
		if err := deploy.Write(dockerCli.Out(), dockerCli.Err(), opts.output, []deploy.Document{{Name: StackFileName, Content: stack}}); err != nil {
			return err
		}
	}
	if !opts.apply {
		return nil
	}
	docker := shellout.New(dockerCli)
	cmd := docker.Command(ctx, "stack", "deploy", "--compose-file", "-", "--prune", "--resolve-image", "never", "--detach=true", f.Project)
	cmd.Stdin = bytes.NewReader(stack)
	if err := shellout.Run(cmd); err != nil {
		return err
	}
	return swarmstack.Wait(ctx, dockerCli.Client(), dockerCli.Err(), f, opts.timeout)
}

// swarmWhere says where Swarm agents get the credential.
const swarmWhere = "a Swarm stack carries it as a Swarm secret"
