package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/docker/cli/cli/command"
	mobyclient "github.com/moby/moby/client"
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
config and the workspace, deploy resources and restart policy, and the fleet's gateway:
the work queue's dispatcher and, for an API key or an auth token, the model gateway,
which alone holds the credential, counts usage and enforces budgets; each agent gets a
token of its own in its place. Credentials, the fleet's key and the tokens are Swarm
secrets (their names carry a digest of the value, so a rotated one is a new secret). The
shared env file's settings are written into each service.

docker magents queue, usage and budget reach the gateway's task on this node as they
reach the egress proxy of docker magents up.

--apply runs docker stack deploy (the project name is the stack's) and waits until every
agent's task, and the gateway's, is running and healthy. docker stack rm PROJECT removes
the services and keeps the volumes (the queue and the account are on gateway-state).`,
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
	secret := &compose.StackSecret{
		Var:  c.Var,
		File: f.CredentialFile(c.Var),
		Name: swarmSecretName("claude-auth-"+f.Project, []byte(c.Value)),
	}
	// The shared agent config's files, where docker stack deploy reads them into configs.
	configs, err := compose.WriteStackConfigs(f, filepath.Join(f.StateDir(), "swarm-config"))
	if err != nil {
		return err
	}
	gw, err := stackGateway(f, c.Var)
	if err != nil {
		return err
	}
	stack, err := compose.Stack(f, secret, env, configs, gw)
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
	if err := upVolumesOfAnotherUser(ctx, dockerCli.Client(), f); err != nil {
		return err
	}
	docker := shellout.New(dockerCli)
	cmd := docker.Command(ctx, "stack", "deploy", "--compose-file", "-", "--prune", "--resolve-image", "never", "--detach=true", f.Project)
	cmd.Stdin = bytes.NewReader(stack)
	if err := shellout.Run(cmd); err != nil {
		return err
	}
	return swarmstack.Wait(ctx, dockerCli.Client(), dockerCli.Err(), f, []string{fleet.GatewayService}, opts.timeout)
}

// upVolumesOfAnotherUser refuses a stack whose agents would mount the volumes
// docker magents up made on this node for agents of another user (the workspace's owner):
// the stack's agents run as the image's user and could not read them, and an agent would
// come up without its config, at Claude's first-run screen. Nothing is removed unasked.
func upVolumesOfAnotherUser(ctx context.Context, api mobyclient.APIClient, f *fleet.Fleet) error {
	if f.User == "" || f.User == fleet.DefaultUser {
		return nil
	}
	vols, err := api.VolumeList(ctx, mobyclient.VolumeListOptions{
		Filters: make(mobyclient.Filters).Add("label", fleet.ComposeProjectLabel+"="+f.Project),
	})
	if err != nil {
		return err
	}
	mounted := map[string]bool{}
	for n := 1; n <= f.Agents; n++ {
		mounted[fleet.ConfigVolume(fleet.AgentName(n))] = true
		mounted[fleet.CloneVolume(fleet.AgentName(n))] = true
	}
	var names []string
	for _, v := range vols.Items {
		if mounted[v.Labels[fleet.ComposeVolumeLabel]] {
			names = append(names, v.Name)
		}
	}
	if len(names) == 0 {
		return nil
	}
	slices.Sort(names)
	return fmt.Errorf("the stack's agents would mount %s, made by docker magents up for agents that run as %s; "+
		"the stack's run as the image's user (%s) and could not read them. Remove them first "+
		"(docker magents -p %s down --volumes: the agents' conversations and clones go with them), or deploy "+
		"the stack under another project name (-p NAME)", strings.Join(names, ", "), f.User, fleet.DefaultUser, f.Project)
}

// stackGateway is the stack's gateway (compose.StackGateway): the fleet's key and each
// agent's token as Swarm secrets, named by a digest of their content (a Swarm secret cannot
// change), and the fleet's git credentials when it has them.
func stackGateway(f *fleet.Fleet, credential string) (*compose.StackGateway, error) {
	keyFile, tokens, err := f.WriteClusterTokens()
	if err != nil {
		return nil, err
	}
	secret := func(prefix, file string) (compose.StackSecret, error) {
		b, err := os.ReadFile(file)
		if err != nil {
			return compose.StackSecret{}, err
		}
		return compose.StackSecret{File: file, Name: swarmSecretName(prefix, b)}, nil
	}
	gw := &compose.StackGateway{Tokens: map[string]compose.StackSecret{}, Relays: fleet.GatewayRelays(credential)}
	if gw.Key, err = secret("magents-key-"+f.Project, keyFile); err != nil {
		return nil, err
	}
	for agent, file := range tokens {
		if gw.Tokens[agent], err = secret("magents-token-"+f.Project+"-"+agent, file); err != nil {
			return nil, err
		}
	}
	if f.Config.GitCredentials != "" {
		git, err := secret("magents-git-"+f.Project, filepath.Join(f.GatewaySecretsDir(), fleet.GitCredentialsFile))
		if err != nil {
			return nil, fmt.Errorf("the fleet's git credentials: %w (docker magents up --git-credentials FILE gives them again)", err)
		}
		gw.GitCredentials = &git
	}
	return gw, nil
}

// swarmSecretName names a Swarm secret of content: prefix and a digest of the content, as
// a Swarm secret cannot change (another value is another secret).
func swarmSecretName(prefix string, content []byte) string {
	sum := sha256.Sum256(content)
	return prefix + "-" + hex.EncodeToString(sum[:])[:12]
}

// swarmWhere says where Swarm agents get the credential.
const swarmWhere = "a Swarm stack carries it as a Swarm secret"
