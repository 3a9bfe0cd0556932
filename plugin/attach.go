package main

import (
	"context"
	"errors"
	"io"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/internal/fleetruntime/engine"
	"github.com/docker-magents/docker-magents/internal/fleetstatus"
	"github.com/docker-magents/docker-magents/internal/termsafe"
)

type attachOptions struct {
	readonly bool
	where    runtimeOptions
}

func attachCmd(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	var opts attachOptions
	cmd := &cobra.Command{
		Use:   "attach [OPTIONS] AGENT",
		Short: `Attach your terminal to an agent's tmux session "claude" (detach with C-b d)`,
		Example: `  docker magents attach agent-1
  docker magents attach --readonly 2
  docker magents attach --k8s --namespace agents agent-2`,
		Args: cli.ExactArgs(1),
		RunE: withArgs(func(ctx context.Context, args []string) error {
			return runAttach(ctx, dockerCli, root, args[0], opts)
		}),
	}
	cmd.Flags().BoolVarP(&opts.readonly, "readonly", "r", false, "Watch without typing into the session")
	opts.where.addFlags(cmd.Flags())
	return cmd
}

func runAttach(ctx context.Context, dockerCli command.Cli, root *rootOptions, agent string, opts attachOptions) error {
	if !dockerCli.In().IsTerminal() || !dockerCli.Out().IsTerminal() {
		return errors.New("docker magents attach needs a terminal: run it in an interactive shell " +
			"(to read an agent's session without one: docker magents logs " + agent + ")")
	}
	_, rt, err := opts.where.open(dockerCli, root, fleetstatus.Options{})
	if err != nil {
		return err
	}
	// The exec runs as the container's user (the compose file's user:), the same user
	// whose tmux server holds the session — the agent's, which it can configure: what
	// reaches your terminal is its screen alone (termsafe.ScreenWriter), never a clipboard
	// write, a title, or a sequence passed through tmux.
	sess, err := rt.Attach(ctx, agent, opts.readonly)
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
	if _, err := io.Copy(termsafe.NewScreenWriter(out), sess); err != nil && !errors.Is(err, io.EOF) && ctx.Err() == nil {
		return err
	}
	code, err := sess.ExitCode(context.WithoutCancel(ctx))
	switch {
	case err != nil:
		return err
	case code != 0:
		return cli.StatusError{StatusCode: code} // tmux's own exit code, as docker exec gives it
	}
	return nil
}

// agentContainer maps an agent name (agent-1, or 1) to its container in the fleet up
// started.
func agentContainer(root *rootOptions, agent string) (string, error) {
	f, err := root.loadFleet()
	if err != nil {
		return "", err
	}
	return engine.Container(f, agent)
}
