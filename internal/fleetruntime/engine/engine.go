// Package engine is the fleet of docker magents up: compose's containers on this engine,
// reached through its API (fleetruntime.Runtime).
package engine

import (
	"context"
	"fmt"
	"io"

	mobyclient "github.com/moby/moby/client"

	"github.com/docker-magents/docker-magents/internal/agentexec"
	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/fleetgateway"
	"github.com/docker-magents/docker-magents/internal/fleetruntime"
	"github.com/docker-magents/docker-magents/internal/fleetstatus"
)

// Runtime is fleet f on the engine api reaches; opts say how its agents are read.
type Runtime struct {
	api  mobyclient.APIClient
	f    *fleet.Fleet
	opts fleetstatus.Options
}

var _ fleetruntime.Runtime = (*Runtime)(nil)

// New is fleet f as compose runs it on the engine api reaches.
func New(api mobyclient.APIClient, f *fleet.Fleet, opts fleetstatus.Options) *Runtime {
	return &Runtime{api: api, f: f, opts: opts}
}

func (*Runtime) Where() string { return "compose" }

func (r *Runtime) Agents(ctx context.Context) ([]fleetstatus.AgentStatus, error) {
	return fleetstatus.List(ctx, r.api, r.f, r.opts)
}

// Container is the container of fleet f's agent (agent-N, N, or the dev service),
// refused when f has no such agent.
func Container(f *fleet.Fleet, agent string) (string, error) {
	if agent == fleet.DevService {
		if !f.Dev {
			return "", fmt.Errorf("project %s has no %s service: start it with 'docker magents up --dev'", f.Project, fleet.DevService)
		}
		return f.DevContainerName(), nil
	}
	name, err := f.Agent(agent)
	if err != nil {
		return "", err
	}
	return f.ContainerName(name), nil
}

func (r *Runtime) Exec(ctx context.Context, agent string, stdin []byte, cmd ...string) ([]byte, []byte, int, error) {
	container, err := Container(r.f, agent)
	if err != nil {
		return nil, nil, -1, err
	}
	return agentexec.WithInput(ctx, r.api, container, stdin, cmd...)
}

func (r *Runtime) Attach(ctx context.Context, agent string, readonly bool) (fleetruntime.Session, error) {
	container, err := Container(r.f, agent)
	if err != nil {
		return nil, err
	}
	return agentexec.Terminal(context.WithoutCancel(ctx), r.api, container, fleetruntime.TmuxAttach(readonly))
}

func (r *Runtime) Logs(ctx context.Context, agent string, opts fleetruntime.LogOptions, stdout, stderr io.Writer) error {
	container, err := Container(r.f, agent)
	if err != nil {
		return err
	}
	return agentexec.Logs(ctx, r.api, container, opts, stdout, stderr)
}

func (r *Runtime) Gateway(ctx context.Context) (fleetgateway.Gateway, error) {
	return fleetgateway.Find(ctx, r.api, r.f), nil
}
