// Package fleetruntime is where a fleet runs, as the commands that read and reach its
// agents see it: compose on this engine (docker magents up), a Swarm stack (deploy swarm)
// or a Kubernetes cluster (deploy k8s). ps, wait, attach, logs, queue, usage, budget and
// the dashboard use only Runtime, so each works the same wherever the fleet runs; a new
// place is one package that satisfies it, as engine, swarm and kubernetes do (as buildx's
// drivers do for builders).
package fleetruntime

import (
	"context"
	"io"

	"github.com/docker-magents/docker-magents/internal/agentexec"
	"github.com/docker-magents/docker-magents/internal/fleetgateway"
	"github.com/docker-magents/docker-magents/internal/fleetstatus"
)

// Runtime is where a fleet's agents and gateway run, and how they are reached there.
type Runtime interface {
	// Where names the runtime as the commands print it: compose, swarm or kubernetes.
	Where() string
	// Agents lists the fleet's agents, each with its supervisor's report.
	Agents(ctx context.Context) ([]fleetstatus.AgentStatus, error)
	// Exec runs cmd in the agent's container, as its user, with stdin (nil: none), and
	// returns what it wrote and its exit code.
	Exec(ctx context.Context, agent string, stdin []byte, cmd ...string) (stdout, stderr []byte, code int, err error)
	// Attach opens the agent's tmux session "claude" in a terminal of its own, read-only
	// when asked; the session lives until it is closed or its command ends, not with ctx.
	Attach(ctx context.Context, agent string, readonly bool) (Session, error)
	// Logs writes the agent's container logs until they end or, following them, ctx does.
	Logs(ctx context.Context, agent string, opts LogOptions, stdout, stderr io.Writer) error
	// Gateway is the fleet's gateway: its model gateway and its work queue's dispatcher.
	Gateway(ctx context.Context) (fleetgateway.Gateway, error)
}

// Session is an open terminal in an agent: its screen, its keys, its size.
type Session interface {
	io.ReadWriteCloser
	Resize(ctx context.Context, cols, rows uint) error
	// ExitCode is the command's exit code, once its screen has ended.
	ExitCode(ctx context.Context) (int, error)
}

// LogOptions are what of an agent's logs to show, as docker logs takes them.
type LogOptions = agentexec.LogOptions

// TmuxAttach is the command that attaches to an agent's session, read-only (-r) when
// asked: what Attach runs in every runtime.
func TmuxAttach(readonly bool) []string {
	cmd := []string{"tmux", "attach-session", "-t", "claude"}
	if readonly {
		cmd = append(cmd, "-r")
	}
	return cmd
}
