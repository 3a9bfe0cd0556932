// Package fleetgateway is a fleet's gateway, the model gateway and the work queue's
// dispatcher, as the host reaches it: the egress proxy's container of docker magents up,
// the gateway task of the fleet's Swarm stack on this node (deploy swarm) — both through
// the engine — or the gateway's pod in Kubernetes (deploy k8s), through the cluster's exec.
// fleetusage and fleetqueue ask it the supervisor's questions.
package fleetgateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	mobyclient "github.com/moby/moby/client"

	"github.com/docker-magents/docker-magents/images/supervisor/protocol"
	"github.com/docker-magents/docker-magents/internal/agentexec"
	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/k8s"
)

// Where a gateway runs.
const (
	Proxy   = "proxy"   // the egress proxy of docker magents up
	Stack   = "stack"   // a Swarm stack's gateway service
	Cluster = "cluster" // a Kubernetes Deployment
)

// Gateway is where a fleet's gateway runs, and how a command is run there.
type Gateway struct {
	Name string // its container's name or ID, or its pod
	Kind string // Proxy, Stack or Cluster
	run  func(ctx context.Context, stdin []byte, cmd []string) (stdout, stderr []byte, code int, err error)
}

// Deployed reports whether the gateway is a deployment's (a stack's or a cluster's),
// which always runs the dispatcher, and the model gateway when its credential is one it
// relays; the egress proxy's depends on the fleet's settings.
func (g Gateway) Deployed() bool { return g.Kind != Proxy }

// Find is fleet f's gateway on this engine: the egress proxy's container when it runs,
// else the running gateway task of the stack of f's project on this node, else the egress
// proxy's container anyway (asking it then says the fleet is not up).
func Find(ctx context.Context, api mobyclient.APIClient, f *fleet.Fleet) Gateway {
	proxy := f.Project + "-" + fleet.EgressProxyService
	if insp, err := api.ContainerInspect(ctx, proxy, mobyclient.ContainerInspectOptions{}); err == nil &&
		insp.Container.State != nil && insp.Container.State.Running {
		return inContainer(api, proxy, Proxy)
	}
	service := f.StackService(fleet.GatewayService)
	list, err := api.ContainerList(ctx, mobyclient.ContainerListOptions{
		Filters: make(mobyclient.Filters).Add("label", "com.docker.swarm.service.name="+service).Add("status", "running"),
	})
	if err == nil && len(list.Items) > 0 {
		return inContainer(api, list.Items[0].ID, Stack)
	}
	return inContainer(api, proxy, Proxy)
}

func inContainer(api mobyclient.APIClient, container, kind string) Gateway {
	return Gateway{Name: container, Kind: kind, run: func(ctx context.Context, stdin []byte, cmd []string) ([]byte, []byte, int, error) {
		return agentexec.WithInput(ctx, api, container, stdin, cmd...)
	}}
}

// InPod is the gateway whose pod is pod, reached through c.
func InPod(c *k8s.Client, pod string) Gateway {
	return Gateway{Name: pod, Kind: Cluster, run: func(ctx context.Context, stdin []byte, cmd []string) ([]byte, []byte, int, error) {
		return c.Output(ctx, pod, "gateway", stdin, cmd)
	}}
}

// JSON runs the supervisor with args in the gateway, with stdin (nil: none), and decodes
// what it writes, JSON, into out. A non-zero exit is an *agentexec.ExitError.
func (g Gateway) JSON(ctx context.Context, stdin []byte, out any, args ...string) error {
	cmd := append([]string{"/usr/local/bin/magents-supervisor"}, args...)
	b, stderr, code, err := g.run(ctx, stdin, cmd)
	if err != nil {
		return err
	}
	if code == protocol.ExitRefused {
		// A refusal of the gateway's, typed: its status and its words.
		if perr, ok := protocol.DecodeError(b); ok {
			return perr
		}
	}
	if code != 0 {
		return &agentexec.ExitError{Code: code, Stderr: string(bytes.TrimSpace(stderr))}
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("reading what the supervisor in %s answered: %w", g.Name, err)
	}
	return nil
}
