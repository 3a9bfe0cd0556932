package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/internal/deploy"
	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/k8s"
)

type deployK8sOptions struct {
	deployOptions
	authInit  bool
	netPolicy bool
	apply     bool
	dryRun    bool
	delete    bool
	context   string
	namespace string
	timeout   time.Duration
	resources deploy.Resources
}

func deployK8sCmd(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	var opts deployK8sOptions
	cmd := &cobra.Command{
		Use:     "k8s [OPTIONS]",
		Aliases: []string{"kubernetes"},
		Short:   "Render the fleet for Kubernetes; --apply applies it with server-side apply",
		Long: `Render the fleet for Kubernetes: the credential Secret (claude-auth-secret.yaml), a
ConfigMap of the shared env file, one of tasks, a headless Service and a StatefulSet
PROJECT-agent whose pods PROJECT-agent-1 … N each get a claim for Claude's config dir and
one for the workspace, the supervisor's health endpoint as startup, liveness and readiness
probes, requests and limits, and a non-root, no-privilege security context; and the
fleet's gateway, Deployment PROJECT-gateway with its Service, Secret and claim: the work
queue's dispatcher and, for an API key or an auth token, the model gateway, which alone
mounts the credential (each agent gets a token of its own in its place, copied into its
pod by an init container). Every document is decoded strictly into its k8s.io/api type
first.

--apply applies them to the current kubeconfig context (server-side apply, field manager
docker-magents) and waits until every agent, and the gateway, is Ready; --dry-run has the server check them
and persist nothing; --delete removes them and keeps the claims (your agents' config and
work). attach --k8s AGENT attaches to an agent's tmux session, as
kubectl exec -it PROJECT-agent-1 -- tmux attach -t claude does.`,
		Example: `  docker magents deploy k8s -o k8s/
  docker magents deploy k8s --apply --agents 3
  docker magents attach --k8s agent-1`,
		Args: cobra.NoArgs,
		RunE: withSignals(func(ctx context.Context) error {
			return runDeployK8s(ctx, dockerCli, root, opts)
		}),
	}
	flags := cmd.Flags()
	opts.addFlags(flags)
	flags.BoolVar(&opts.authInit, "auth-init", false, "Copy the credential into a memory volume of each agent's pod with an init container (the agent does not mount the Secret)")
	flags.BoolVar(&opts.netPolicy, "network-policy", true, "A NetworkPolicy: agents reach DNS and addresses outside private ranges only, and nothing reaches them")
	flags.BoolVar(&opts.apply, "apply", false, "Apply to the cluster and wait until every agent is Ready")
	flags.BoolVar(&opts.dryRun, "dry-run", false, "Have the cluster check every document (server-side dry run); nothing is stored")
	flags.BoolVar(&opts.delete, "delete", false, "Delete what deploy k8s applied; the volume claims stay")
	flags.StringVar(&opts.context, "context", "", "kubeconfig context (default: the current one)")
	flags.StringVar(&opts.namespace, "namespace", "", "Namespace (default: the context's)")
	flags.DurationVar(&opts.timeout, "timeout", 5*time.Minute, "With --apply, how long to wait for the agents to be Ready")
	flags.StringVar(&opts.resources.MemoryRequest, "memory-request", "", "Memory each agent requests (default 2Gi)")
	flags.StringVar(&opts.resources.CPURequest, "cpu-request", "", "CPUs each agent requests (default 1)")
	flags.StringVar(&opts.resources.WorkspaceStorage, "workspace-size", "", "Size of each agent's workspace claim (default 10Gi)")
	return cmd
}

func renderK8s(dockerCli command.Cli, root *rootOptions, opts deployK8sOptions) (*fleet.Fleet, []deploy.Document, error) {
	f, env, c, err := deployInputs(dockerCli, root, opts.deployOptions, k8sWhere)
	if err != nil {
		return nil, nil, err
	}
	gw, err := k8sGateway(f, c.Var)
	if err != nil {
		return nil, nil, err
	}
	if opts.authInit && gw.Relays {
		fmt.Fprintln(dockerCli.Err(), "Note: --auth-init has nothing to copy: the gateway alone mounts this credential, and each agent's "+
			"token is copied into its pod by the init container gateway-token.")
	}
	docs, err := deploy.K8s(f, c, deploy.K8sOptions{
		Templates: opts.templates, Env: env, AuthInit: opts.authInit, NoNetworkPolicy: !opts.netPolicy, Resources: opts.resources,
		Gateway: gw,
	})
	return f, docs, err
}

// k8sGateway is the fleet's gateway in the cluster (deploy.K8sGateway): its key, and each
// agent's token under it, for the gateway's Secret.
func k8sGateway(f *fleet.Fleet, credential string) (*deploy.K8sGateway, error) {
	keyFile, files, err := f.WriteClusterTokens()
	if err != nil {
		return nil, err
	}
	key, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, err
	}
	gw := &deploy.K8sGateway{Key: strings.TrimSpace(string(key)), Tokens: map[string]string{}, Relays: fleet.GatewayRelays(credential)}
	for agent, file := range files {
		tok, err := os.ReadFile(file)
		if err != nil {
			return nil, err
		}
		gw.Tokens[agent] = strings.TrimSpace(string(tok))
	}
	return gw, nil
}

func runDeployK8s(ctx context.Context, dockerCli command.Cli, root *rootOptions, opts deployK8sOptions) error {
	if opts.apply && opts.delete {
		return errors.New("--apply and --delete: give one")
	}
	if opts.dryRun && (opts.apply || opts.delete) {
		return errors.New("--dry-run checks without changing the cluster: give it without --apply or --delete")
	}
	f, docs, err := renderK8s(dockerCli, root, opts)
	if err != nil {
		return err
	}
	if err := printExceptions(dockerCli, f, "kubernetes"); err != nil {
		return err
	}
	cluster := opts.apply || opts.dryRun || opts.delete
	if !cluster || opts.output != "" {
		if opts.output == "" {
			return writeYAMLStream(dockerCli, docs)
		}
		if err := deploy.Write(dockerCli.Out(), dockerCli.Err(), opts.output, docs); err != nil {
			return err
		}
	}
	if !cluster {
		return nil
	}
	c, err := k8s.Connect(opts.context, opts.namespace)
	if err != nil {
		return err
	}
	byName, order := map[string][]byte{}, []string{}
	for _, d := range docs {
		byName[d.Name] = d.Content
		order = append(order, d.Name)
	}
	if opts.delete {
		if err := c.Delete(ctx, byName, order); err != nil {
			return err
		}
		fmt.Fprintf(dockerCli.Err(), "Deleted the agents of %s from %s (namespace %s); their volume claims stay\n", f.Project, c.Context, c.Namespace)
		return nil
	}
	if err := c.Apply(ctx, byName, order, opts.dryRun); err != nil {
		return err
	}
	if !opts.apply {
		fmt.Fprintf(dockerCli.Err(), "The cluster (%s) accepts all %d documents (server-side dry run; nothing stored)\n", c.Context, len(docs))
		return nil
	}
	var pods []string
	for i := 1; i <= f.Agents; i++ {
		pods = append(pods, f.PodName(i))
	}
	if err := c.WaitReady(ctx, pods, opts.timeout); err != nil {
		return err
	}
	gateway, err := c.ReadyPod(ctx, f.GatewaySelector(), opts.timeout)
	if err != nil {
		return fmt.Errorf("the fleet's gateway: %w", err)
	}
	fmt.Fprintf(dockerCli.Err(), "%d agent(s) Ready in %s (namespace %s): %v; gateway %s\n", f.Agents, c.Context, c.Namespace, pods, gateway)
	return nil
}

// writeYAMLStream prints the documents as one YAML stream, each after a comment naming its file.
func writeYAMLStream(dockerCli command.Cli, docs []deploy.Document) error {
	var b bytes.Buffer
	for i, d := range docs {
		if i > 0 {
			b.WriteString("---\n")
		}
		fmt.Fprintf(&b, "# %s\n", d.Name)
		b.Write(d.Content)
	}
	_, err := dockerCli.Out().Write(b.Bytes())
	return err
}

// k8sWhere says where Kubernetes agents get the credential.
const k8sWhere = "Kubernetes agents get it from a Secret"
