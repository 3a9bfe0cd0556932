// Package swarm is the fleet deployed as a Swarm stack (docker magents deploy swarm): its
// services' tasks, reached through this node's engine (fleetruntime.Runtime).
package swarm

import (
	"context"
	"io"

	mobyclient "github.com/moby/moby/client"

	"github.com/docker-magents/docker-magents/internal/agentexec"
	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/fleetgateway"
	"github.com/docker-magents/docker-magents/internal/fleetruntime"
	"github.com/docker-magents/docker-magents/internal/fleetstatus"
	"github.com/docker-magents/docker-magents/internal/swarmstack"
)

// Runtime is fleet f's stack on the swarm of the engine api reaches.
type Runtime struct {
	api  mobyclient.APIClient
	f    *fleet.Fleet
	opts fleetstatus.Options
}

var _ fleetruntime.Runtime = (*Runtime)(nil)

// New is fleet f's stack on the swarm of the engine api reaches; opts say how its agents
// are read.
func New(api mobyclient.APIClient, f *fleet.Fleet, opts fleetstatus.Options) *Runtime {
	opts.Stack = true
	return &Runtime{api: api, f: f, opts: opts}
}

func (*Runtime) Where() string { return "swarm" }

func (r *Runtime) Agents(ctx context.Context) ([]fleetstatus.AgentStatus, error) {
	return fleetstatus.List(ctx, r.api, r.f, r.opts)
}

// An agent is reached in its running task's container on this node, as docker exec can.
func (r *Runtime) Exec(ctx context.Context, agent string, stdin []byte, cmd ...string) ([]byte, []byte, int, error) {
	container, err := swarmstack.Container(ctx, r.api, r.f.Project, agent)
	if err != nil {
		return nil, nil, -1, err
	}
	return agentexec.WithInput(ctx, r.api, container, stdin, cmd...)
}

func (r *Runtime) Attach(ctx context.Context, agent string, readonly bool) (fleetruntime.Session, error) {
	container, err := swarmstack.Container(ctx, r.api, r.f.Project, agent)
	if err != nil {
		return nil, err
	}
	return agentexec.Terminal(context.WithoutCancel(ctx), r.api, container, fleetruntime.TmuxAttach(readonly))
}

// Logs are the agent's service's, from its tasks on every node, as docker service logs
// shows them.
func (r *Runtime) Logs(ctx context.Context, agent string, opts fleetruntime.LogOptions, stdout, stderr io.Writer) error {
	n, err := fleet.AgentNumber(agent)
	if err != nil {
		return err
	}
	return agentexec.ServiceLogs(ctx, r.api, r.f.StackService(fleet.AgentName(n)), opts, stdout, stderr)
}

func (r *Runtime) Gateway(ctx context.Context) (fleetgateway.Gateway, error) {
	return fleetgateway.Find(ctx, r.api, r.f), nil
}
