// Package fleetgateway finds the container that runs a fleet's gateway, the model gateway
// and the work queue's dispatcher: the egress proxy of docker magents up, or the gateway
// task of the fleet's Swarm stack on this node (docker magents deploy swarm). fleetusage and
// fleetqueue ask it through the engine.
package fleetgateway

import (
	"context"

	mobyclient "github.com/moby/moby/client"

	"github.com/docker-magents/docker-magents/compose"
	"github.com/docker-magents/docker-magents/internal/fleet"
)

// Gateway is where a fleet's gateway runs.
type Gateway struct {
	Container string // its container's name or ID
	// Stack: the gateway of a Swarm stack, which always runs the dispatcher, and the
	// model gateway when the stack's credential is one it relays.
	Stack bool
}

// Find is fleet f's gateway: the egress proxy's container when it runs, else the running
// gateway task of the stack of f's project on this node, else the egress proxy's container
// anyway (asking it then says the fleet is not up).
func Find(ctx context.Context, api mobyclient.APIClient, f *fleet.Fleet) Gateway {
	proxy := f.Project + "-" + fleet.EgressProxyService
	if insp, err := api.ContainerInspect(ctx, proxy, mobyclient.ContainerInspectOptions{}); err == nil &&
		insp.Container.State != nil && insp.Container.State.Running {
		return Gateway{Container: proxy}
	}
	service := f.Project + "_" + compose.StackGatewayService
	list, err := api.ContainerList(ctx, mobyclient.ContainerListOptions{
		Filters: make(mobyclient.Filters).Add("label", "com.docker.swarm.service.name="+service).Add("status", "running"),
	})
	if err == nil && len(list.Items) > 0 {
		return Gateway{Container: list.Items[0].ID, Stack: true}
	}
	return Gateway{Container: proxy}
}
