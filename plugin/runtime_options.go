package main

import (
	"errors"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/pflag"

	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/fleetstatus"
	"github.com/docker-magents/docker-magents/internal/k8s"
)

// runtimeOptions say where a fleet runs for the commands that read its agents: compose
// on this engine (the default), the Swarm stack deploy swarm made (--swarm), or the
// Kubernetes cluster deploy k8s applied it to (--k8s, with its context and namespace).
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

// source is where fleet f's agents are read, as o says; opts are the engine's options
// (live, kept volumes), which a cluster's pods do not take.
func (o runtimeOptions) source(dockerCli command.Cli, f *fleet.Fleet, opts fleetstatus.Options) (fleetstatus.Source, error) {
	switch {
	case o.swarm && o.k8s:
		return nil, errSwarmAndK8s
	case o.k8s:
		c, err := k8s.Connect(o.context, o.namespace)
		if err != nil {
			return nil, err
		}
		return fleetstatus.Cluster(c, f), nil
	case o.swarm:
		return fleetstatus.Stack(dockerCli.Client(), f, opts), nil
	}
	return fleetstatus.Engine(dockerCli.Client(), f, opts), nil
}

var errSwarmAndK8s = errors.New("--swarm and --k8s: the fleet runs in one place; give one")
