package main

import (
	"context"
	"errors"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/pflag"

	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/fleetgateway"
	"github.com/docker-magents/docker-magents/internal/fleetruntime"
	"github.com/docker-magents/docker-magents/internal/fleetruntime/engine"
	"github.com/docker-magents/docker-magents/internal/fleetruntime/kubernetes"
	"github.com/docker-magents/docker-magents/internal/fleetruntime/swarm"
	"github.com/docker-magents/docker-magents/internal/fleetstatus"
	"github.com/docker-magents/docker-magents/internal/k8s"
)

// runtimeOptions say where a fleet runs for the commands that reach its agents or its
// gateway: compose on this engine (the default), the Swarm stack deploy swarm made
// (--swarm), or the Kubernetes cluster deploy k8s applied it to (--k8s, with its context
// and namespace).
type runtimeOptions struct {
	swarm     bool
	k8s       bool
	context   string
	namespace string
}

func (o *runtimeOptions) addFlags(flags *pflag.FlagSet) {
	flags.BoolVar(&o.swarm, "swarm", false, "The fleet deployed as a Swarm stack (docker magents deploy swarm)")
	flags.BoolVar(&o.k8s, "k8s", false, "The fleet deployed to Kubernetes (docker magents deploy k8s)")
	flags.StringVar(&o.context, "context", "", "With --k8s, the kubeconfig context (default: the current one)")
	flags.StringVar(&o.namespace, "namespace", "", "With --k8s, the namespace (default: the context's)")
}

// deployed reports whether the fleet is a deployment's (--swarm or --k8s).
func (o runtimeOptions) deployed() bool { return o.swarm || o.k8s }

// fleet is the fleet the command acts on: the one up saved in the compose file, or for a
// deployment the compose file's or the project's defaults (deployed from the compose
// file, or by project name alone).
func (o runtimeOptions) fleet(root *rootOptions) (*fleet.Fleet, error) {
	if o.deployed() {
		f, _, err := root.fleetOrNew()
		return f, err
	}
	return root.loadFleet()
}

// runtime is where fleet f runs, as o says; opts are the engine's options (live, kept
// volumes), which a cluster's pods do not take.
func (o runtimeOptions) runtime(dockerCli command.Cli, f *fleet.Fleet, opts fleetstatus.Options) (fleetruntime.Runtime, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	switch {
	case o.k8s:
		c, err := k8s.Connect(o.context, o.namespace)
		if err != nil {
			return nil, err
		}
		return kubernetes.New(c, f), nil
	case o.swarm:
		return swarm.New(dockerCli.Client(), f, opts), nil
	}
	return engine.New(dockerCli.Client(), f, opts), nil
}

// open is the fleet the command acts on and where it runs.
func (o runtimeOptions) open(dockerCli command.Cli, root *rootOptions, opts fleetstatus.Options) (*fleet.Fleet, fleetruntime.Runtime, error) {
	if err := o.check(); err != nil {
		return nil, nil, err
	}
	f, err := o.fleet(root)
	if err != nil {
		return nil, nil, err
	}
	rt, err := o.runtime(dockerCli, f, opts)
	return f, rt, err
}

var errSwarmAndK8s = errors.New("--swarm and --k8s: the fleet runs in one place; give one")

// check refuses flags that contradict each other.
func (o runtimeOptions) check() error {
	switch {
	case o.swarm && o.k8s:
		return errSwarmAndK8s
	case !o.k8s && (o.context != "" || o.namespace != ""):
		return errors.New("--context and --namespace go with --k8s")
	}
	return nil
}

// gateway is the gateway of fleet f, where o says it runs.
func (o runtimeOptions) gateway(ctx context.Context, dockerCli command.Cli, f *fleet.Fleet) (fleetgateway.Gateway, error) {
	rt, err := o.runtime(dockerCli, f, fleetstatus.Options{})
	if err != nil {
		return fleetgateway.Gateway{}, err
	}
	return rt.Gateway(ctx)
}
