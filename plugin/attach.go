package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/swarmstack"
	"github.com/docker-magents/docker-magents/internal/termsafe"
)

type attachOptions struct {
	readonly  bool
	swarm     bool
	k8s       bool
	context   string
	namespace string
}

func attachCmd(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	var opts attachOptions
	cmd := &cobra.Command{
		Use:   "attach [OPTIONS] AGENT",
		Short: `Attach your terminal to an agent's tmux session "claude" (detach with C-b d)`,
		Example: `  docker magents attach agent-1
  docker magents attach --readonly 2`,
		Args: cli.ExactArgs(1),
		RunE: withArgs(func(ctx context.Context, args []string) error {
			return runAttach(ctx, dockerCli, root, args[0], opts)
		}),
	}
	cmd.Flags().BoolVarP(&opts.readonly, "readonly", "r", false, "Watch without typing into the session")
	cmd.Flags().BoolVar(&opts.swarm, "swarm", false, "Attach to the agent's task of the Swarm stack (docker magents deploy swarm)")
	cmd.Flags().BoolVar(&opts.k8s, "k8s", false, "Attach to the agent's pod in Kubernetes (docker magents deploy k8s)")
	cmd.Flags().StringVar(&opts.context, "context", "", "With --k8s, the kubeconfig context (default: the current one)")
	cmd.Flags().StringVar(&opts.namespace, "namespace", "", "With --k8s, the namespace (default: the context's)")
	return cmd
}

func runAttach(ctx context.Context, dockerCli command.Cli, root *rootOptions, agent string, opts attachOptions) error {
	if !dockerCli.In().IsTerminal() || !dockerCli.Out().IsTerminal() {
		return errors.New("docker magents attach needs a terminal: run it in an interactive shell " +
			"(to read an agent's session without one: docker magents logs " + agent + ")")
	}
	if opts.k8s {
		return attachK8s(ctx, dockerCli, root, agent, opts)
	}
	var container string
	var err error
	if opts.swarm {
		f, _, ferr := root.fleetOrNew()
		if ferr != nil {
			return ferr
		}
		container, err = swarmstack.Container(ctx, dockerCli.Client(), f.Project, agent)
	} else {
		container, err = agentContainer(root, agent)
	}
	if err != nil {
		return err
	}
	// The exec runs as the container's user (the compose file's user:), the same user
	// whose tmux server holds the session — the agent's, which it can configure: what
	// reaches your terminal is its screen alone (termsafe.ScreenWriter), never a clipboard
	// write, a title, or a sequence passed through tmux.
	sess, err := openExecTerminal(ctx, dockerCli.Client(), container, opts.readonly)
	if err != nil {
		return err
	}
	defer sess.Close()
	in, out := dockerCli.In(), dockerCli.Out()
	if err := in.SetRawTerminal(); err != nil {
		return err
	}
	defer in.RestoreTerminal()
	sizes, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		for size := range newTerminalSizes(sizes, dockerCli) {
			_ = sess.Resize(sizes, uint(size.Width), uint(size.Height))
		}
	}()
	go func() { _, _ = io.Copy(sess, in) }() // ends with the process
	if _, err := io.Copy(termsafe.NewScreenWriter(out), sess); err != nil && ctx.Err() == nil {
		return err
	}
	code, err := sess.exitCode(context.WithoutCancel(ctx))
	switch {
	case err != nil:
		return err
	case code != 0:
		return cli.StatusError{StatusCode: code} // tmux's own exit code, as docker exec gives it
	}
	return nil
}

// agentContainer maps an agent name (agent-1, or 1) to its container in the fleet.
func agentContainer(root *rootOptions, agent string) (string, error) {
	f, err := root.loadFleet()
	if err != nil {
		return "", err
	}
	if agent == fleet.DevService {
		if !f.Dev {
			return "", fmt.Errorf("project %s has no %s service: start it with 'docker magents up --dev'", f.Project, fleet.DevService)
		}
		return f.Project + "-claude-dev", nil
	}
	name, err := agentIn(f, agent)
	if err != nil {
		return "", err
	}
	return f.ContainerName(name), nil
}

// agentIn is the agent-N an agent name (agent-N, or N) stands for in f, refused when f
// has no such agent.
func agentIn(f *fleet.Fleet, agent string) (string, error) {
	n, err := fleet.AgentNumber(agent)
	if err != nil {
		return "", err
	}
	if n > f.Agents {
		return "", fmt.Errorf("project %s has %d agent(s): there is no agent-%d", f.Project, f.Agents, n)
	}
	return fleet.AgentName(n), nil
}
