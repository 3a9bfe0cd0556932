package main

import (
	"context"
	"time"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/pflag"

	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/fleetgateway"
	"github.com/docker-magents/docker-magents/internal/k8s"
)

// gatewayOptions say where the commands that ask the fleet's gateway (queue, usage,
// budget) find it: through the engine (up's egress proxy, or a stack's gateway on this
// node), or with --k8s in the cluster deploy k8s applied it to.
type gatewayOptions struct {
	k8s       bool
	context   string
	namespace string
}

func (o *gatewayOptions) addFlags(flags *pflag.FlagSet) {
	flags.BoolVar(&o.k8s, "k8s", false, "Ask the fleet's gateway in Kubernetes (docker magents deploy k8s)")
	flags.StringVar(&o.context, "context", "", "With --k8s, the kubeconfig context (default: the current one)")
	flags.StringVar(&o.namespace, "namespace", "", "With --k8s, the namespace (default: the context's)")
}

// gateway is fleet f's gateway, as o says where.
func (o gatewayOptions) gateway(ctx context.Context, dockerCli command.Cli, f *fleet.Fleet) (fleetgateway.Gateway, error) {
	if !o.k8s {
		return fleetgateway.Find(ctx, dockerCli.Client(), f), nil
	}
	c, err := k8s.Connect(o.context, o.namespace)
	if err != nil {
		return fleetgateway.Gateway{}, err
	}
	pod, err := c.ReadyPod(ctx, k8sGatewaySelector(f.Project), 10*time.Second)
	if err != nil {
		return fleetgateway.Gateway{}, err
	}
	return fleetgateway.InPod(c, pod), nil
}
