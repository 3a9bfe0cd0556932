package fleetstatus

import (
	"context"
	"encoding/json"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/docker-magents/docker-magents/images/supervisor/agentstate"
	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/k8s"
	"github.com/docker-magents/docker-magents/internal/termsafe"
)

// podExecs is how many agents' supervisors Pods asks at once: each is a stream through
// the API server.
const podExecs = 8

// Pods is the fleet deployed to Kubernetes (docker magents deploy k8s) as its pods and
// their supervisors report, in agent order: each agent's pod, and for a running one its
// supervisor's health, asked through the cluster's exec (podExecs at once).
func Pods(ctx context.Context, c *k8s.Client, f *fleet.Fleet) ([]AgentStatus, error) {
	pods, err := c.Pods(ctx, f.AgentSelector())
	if err != nil {
		return nil, err
	}
	prefix := f.StatefulSetName() + "-"
	var out []AgentStatus
	for _, p := range pods {
		n, ok := strings.CutPrefix(p.Name, prefix)
		if !ok {
			continue
		}
		s := AgentStatus{Agent: "agent-" + n, Container: p.Name, ContainerState: strings.ToLower(p.Phase), Restarts: p.Restarts, State: agentstate.Starting}
		if _, err := fleet.AgentNumber(s.Agent); err != nil {
			continue
		}
		if !p.StartedAt.IsZero() {
			s.StartedAt = p.StartedAt
			s.UptimeSeconds = int64(time.Since(p.StartedAt).Seconds())
		}
		switch {
		case p.Deleting:
			s.Detail = "being deleted"
		case !p.Ready:
			s.Detail = p.Why
		}
		if p.Phase == "Failed" {
			s.State = agentstate.Failed
		}
		out = append(out, s)
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(podExecs)
	for i := range out {
		if out[i].ContainerState != "running" {
			continue
		}
		g.Go(func() error {
			if h, ok := podHealth(gctx, c, out[i].Container); ok {
				termsafe.Value(&h) // the agent wrote it
				restarts := out[i].Restarts
				out[i].take(h, true)
				out[i].Restarts += restarts // the supervisor's session restarts, and the pod's
			}
			out[i].since()
			return nil
		})
	}
	_ = g.Wait() // an agent that does not answer keeps what its pod says
	return out, nil
}

// podHealth asks the agent's supervisor in pod for its health, as the pod's probe does.
func podHealth(ctx context.Context, c *k8s.Client, pod string) (agentstate.Health, bool) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// Unhealthy exits non-zero, with its report.
	stdout, _, _, err := c.Output(ctx, pod, "agent", nil, []string{"/usr/local/bin/magents-supervisor", "health"})
	if err != nil {
		return agentstate.Health{}, false
	}
	var h agentstate.Health
	if json.Unmarshal(stdout, &h) != nil || h.State == "" {
		return agentstate.Health{}, false
	}
	return h, true
}
