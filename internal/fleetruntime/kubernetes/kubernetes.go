// Package kubernetes is the fleet deployed to a Kubernetes cluster (docker magents deploy
// k8s): its agents' pods and its gateway's, reached through the cluster's API
// (fleetruntime.Runtime).
package kubernetes

import (
	"context"
	"io"
	"strconv"
	"time"

	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/fleetgateway"
	"github.com/docker-magents/docker-magents/internal/fleetruntime"
	"github.com/docker-magents/docker-magents/internal/fleetstatus"
	"github.com/docker-magents/docker-magents/internal/k8s"
)

// agentContainer is the agent's container in its pod (templates/k8s).
const agentContainer = "agent"

// Runtime is fleet f in the cluster c reaches.
type Runtime struct {
	c *k8s.Client
	f *fleet.Fleet
	// GatewayWait is how long Gateway waits for the gateway's pod to be ready.
	GatewayWait time.Duration
}

var _ fleetruntime.Runtime = (*Runtime)(nil)

// New is fleet f in the cluster c reaches.
func New(c *k8s.Client, f *fleet.Fleet) *Runtime {
	return &Runtime{c: c, f: f, GatewayWait: 10 * time.Second}
}

func (*Runtime) Where() string { return "kubernetes" }

func (r *Runtime) Agents(ctx context.Context) ([]fleetstatus.AgentStatus, error) {
	return fleetstatus.Pods(ctx, r.c, r.f)
}

func (r *Runtime) pod(agent string) (string, error) {
	n, err := fleet.AgentNumber(agent)
	if err != nil {
		return "", err
	}
	return r.f.PodName(n), nil
}

func (r *Runtime) Exec(ctx context.Context, agent string, stdin []byte, cmd ...string) ([]byte, []byte, int, error) {
	pod, err := r.pod(agent)
	if err != nil {
		return nil, nil, -1, err
	}
	return r.c.Output(ctx, pod, agentContainer, stdin, cmd)
}

func (r *Runtime) Attach(ctx context.Context, agent string, readonly bool) (fleetruntime.Session, error) {
	pod, err := r.pod(agent)
	if err != nil {
		return nil, err
	}
	return r.c.Open(context.WithoutCancel(ctx), pod, agentContainer, fleetruntime.TmuxAttach(readonly)), nil
}

func (r *Runtime) Logs(ctx context.Context, agent string, opts fleetruntime.LogOptions, stdout, _ io.Writer) error {
	pod, err := r.pod(agent)
	if err != nil {
		return err
	}
	tail := -1
	if opts.Tail != "" && opts.Tail != "all" {
		if tail, err = strconv.Atoi(opts.Tail); err != nil {
			return err
		}
	}
	// A pod's log is one stream: its container's output and errors, as kubectl logs shows.
	return r.c.Logs(ctx, pod, agentContainer, opts.Follow, tail, stdout)
}

func (r *Runtime) Gateway(ctx context.Context) (fleetgateway.Gateway, error) {
	pod, err := r.c.ReadyPod(ctx, r.f.GatewaySelector(), r.GatewayWait)
	if err != nil {
		return fleetgateway.Gateway{}, err
	}
	return fleetgateway.InPod(r.c, pod), nil
}
