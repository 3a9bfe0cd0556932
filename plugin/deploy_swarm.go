package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/docker/cli/cli/command"
	"github.com/moby/moby/api/types/swarm"
	mobyclient "github.com/moby/moby/client"
	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/compose"
	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/shellout"
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
		File: filepath.Join(f.AgentSecretsDir(), fleet.SecretFileName(c.Var)),
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
	if !opts.apply || opts.output != "" {
		if err := writeDeployFiles(dockerCli, opts.output, []deployFile{{name: StackFileName, content: stack}}); err != nil {
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
	return waitSwarmAgents(ctx, dockerCli, f, opts.timeout)
}

// waitSwarmAgents waits until each agent's service has a running task. Swarm holds a task
// with a health check in "starting" until the check passes, so running is healthy.
func waitSwarmAgents(ctx context.Context, dockerCli command.Cli, f *fleet.Fleet, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	api := dockerCli.Client()
	want := f.AgentNames()
	for {
		running, notes, err := swarmAgentStates(ctx, api, f.Project)
		if err != nil && ctx.Err() == nil {
			return err
		}
		pending := slices.DeleteFunc(slices.Clone(want), func(a string) bool { return running[a] })
		if len(pending) == 0 {
			fmt.Fprintf(dockerCli.Err(), "Stack %s: %d agent(s) running and healthy\n", f.Project, len(want))
			return nil
		}
		if !sleepCtx(ctx, time.Second) {
			var why []string
			for _, a := range pending {
				why = append(why, a+": "+orDash(notes[a]))
			}
			return fmt.Errorf("stack %s: not every agent is running and healthy after %s (%s); see docker stack ps %s",
				f.Project, timeout, strings.Join(why, "; "), f.Project)
		}
	}
}

// swarmAgentStates reports, per agent service of the stack, whether a task runs, and the
// latest task's state and error otherwise.
func swarmAgentStates(ctx context.Context, api mobyclient.APIClient, project string) (map[string]bool, map[string]string, error) {
	filter := make(mobyclient.Filters).Add("label", "com.docker.stack.namespace="+project)
	services, err := api.ServiceList(ctx, mobyclient.ServiceListOptions{Filters: filter})
	if err != nil {
		return nil, nil, err
	}
	names := map[string]string{} // service ID → agent
	for _, s := range services.Items {
		names[s.ID] = strings.TrimPrefix(s.Spec.Name, project+"_")
	}
	tasks, err := api.TaskList(ctx, mobyclient.TaskListOptions{Filters: filter})
	if err != nil {
		return nil, nil, err
	}
	running, notes := map[string]bool{}, map[string]string{}
	for _, t := range tasks.Items {
		agent := names[t.ServiceID]
		if agent == "" || t.DesiredState != swarm.TaskStateRunning {
			continue
		}
		if t.Status.State == swarm.TaskStateRunning {
			running[agent] = true
		}
		notes[agent] = string(t.Status.State)
		if t.Status.Err != "" {
			notes[agent] += " (" + t.Status.Err + ")"
		}
	}
	return running, notes, nil
}

// swarmContainer is the local container of agent's running task in the stack project.
func swarmContainer(ctx context.Context, api mobyclient.APIClient, project, agent string) (string, error) {
	n, err := fleet.AgentNumber(agent)
	if err != nil {
		return "", err
	}
	service := project + "_" + fleet.AgentName(n)
	list, err := api.ContainerList(ctx, mobyclient.ContainerListOptions{
		Filters: make(mobyclient.Filters).Add("label", "com.docker.swarm.service.name="+service).Add("status", "running"),
	})
	if err != nil {
		return "", err
	}
	if len(list.Items) == 0 {
		return "", fmt.Errorf("no running task of service %s on this node: see docker service ps %s (on another node, attach there)", service, service)
	}
	return list.Items[0].ID, nil
}

// swarmWhere says where Swarm agents get the credential.
const swarmWhere = "a Swarm stack carries it as a Swarm secret"
