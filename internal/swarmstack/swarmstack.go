// Package swarmstack is a fleet deployed as a Docker Swarm stack, as the engine reports
// it: whether each agent's service runs a task, and the local container of one. The
// plugin's deploy swarm and attach commands import it.
package swarmstack

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/moby/moby/api/types/swarm"
	mobyclient "github.com/moby/moby/client"

	"github.com/docker-magents/docker-magents/internal/fleet"
)

// Wait waits until each agent's service, and each of others (the fleet's gateway), has a
// running task. Swarm holds a task with a health check in "starting" until the check
// passes, so running is healthy.
func Wait(ctx context.Context, api mobyclient.APIClient, log io.Writer, f *fleet.Fleet, others []string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	want := append(f.AgentNames(), others...)
	for {
		running, notes, err := AgentStates(ctx, api, f.Project)
		if err != nil && ctx.Err() == nil {
			return err
		}
		pending := slices.DeleteFunc(slices.Clone(want), func(a string) bool { return running[a] })
		if len(pending) == 0 {
			fmt.Fprintf(log, "Stack %s: %d agent(s) running and healthy\n", f.Project, f.Agents)
			return nil
		}
		select {
		case <-time.After(time.Second):
			continue
		case <-ctx.Done():
		}
		var why []string
		for _, a := range pending {
			why = append(why, a+": "+cmp.Or(notes[a], "-"))
		}
		return fmt.Errorf("stack %s: not every agent is running and healthy after %s (%s); see docker stack ps %s",
			f.Project, timeout, strings.Join(why, "; "), f.Project)
	}
}

// AgentStates reports, per service of the stack (by its name in the stack file), whether a task runs, and the
// latest task's state and error otherwise.
func AgentStates(ctx context.Context, api mobyclient.APIClient, project string) (map[string]bool, map[string]string, error) {
	filter := make(mobyclient.Filters).Add("label", "com.docker.stack.namespace="+project)
	services, err := api.ServiceList(ctx, mobyclient.ServiceListOptions{Filters: filter})
	if err != nil {
		return nil, nil, err
	}
	names := map[string]string{} // service ID → agent
	for _, s := range services.Items {
		names[s.ID] = strings.TrimPrefix(s.Spec.Name, project+"_")
	}
	tasks, err := api.TaskList(ctx, mobyclient.TaskListOptions{Filters: filter})
	if err != nil {
		return nil, nil, err
	}
	running, notes := map[string]bool{}, map[string]string{}
	for _, t := range tasks.Items {
		agent := names[t.ServiceID]
		if agent == "" || t.DesiredState != swarm.TaskStateRunning {
			continue
		}
		if t.Status.State == swarm.TaskStateRunning {
			running[agent] = true
		}
		notes[agent] = string(t.Status.State)
		if t.Status.Err != "" {
			notes[agent] += " (" + t.Status.Err + ")"
		}
	}
	return running, notes, nil
}

// Container is the local container of agent's running task in the stack project.
func Container(ctx context.Context, api mobyclient.APIClient, project, agent string) (string, error) {
	n, err := fleet.AgentNumber(agent)
	if err != nil {
		return "", err
	}
	service := project + "_" + fleet.AgentName(n)
	list, err := api.ContainerList(ctx, mobyclient.ContainerListOptions{
		Filters: make(mobyclient.Filters).Add("label", "com.docker.swarm.service.name="+service).Add("status", "running"),
	})
	if err != nil {
		return "", err
	}
	if len(list.Items) == 0 {
		return "", fmt.Errorf("no running task of service %s on this node: see docker service ps %s (on another node, attach there)", service, service)
	}
	return list.Items[0].ID, nil
}
