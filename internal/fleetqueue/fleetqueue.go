// Package fleetqueue is a fleet's work queue as its dispatcher (the egress proxy's
// container, or a stack's gateway: fleetgateway) keeps it, read and changed through the engine: docker magents queue, and up
// --tasks for the tasks beyond one per agent.
package fleetqueue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/docker-magents/docker-magents/images/supervisor/protocol"
	"github.com/docker-magents/docker-magents/images/supervisor/workqueue"
	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/fleetgateway"
	"github.com/docker-magents/docker-magents/internal/termsafe"
)

// NoQueue says why fleet f has no dispatcher.
func NoQueue(f *fleet.Fleet) error {
	if f.Egress != fleet.EgressAllowlist {
		return fmt.Errorf("project %s has open egress: its work queue runs in the egress proxy, which agents with open egress do not have (docker magents up --egress allowlist)", f.Project)
	}
	return nil
}

// List is every task, in arrival order.
func List(ctx context.Context, gw fleetgateway.Gateway, f *fleet.Fleet) ([]workqueue.Task, error) {
	var out []workqueue.Task
	return out, ask(ctx, gw, f, nil, &out, "ls")
}

// Add queues tasks and returns them as queued.
func Add(ctx context.Context, gw fleetgateway.Gateway, f *fleet.Fleet, tasks []workqueue.NewTask) ([]workqueue.Task, error) {
	in, err := json.Marshal(tasks)
	if err != nil {
		return nil, err
	}
	var out []workqueue.Task
	return out, ask(ctx, gw, f, in, &out, "add")
}

// Cancel cancels a task; Retry queues an ended one again.
func Cancel(ctx context.Context, gw fleetgateway.Gateway, f *fleet.Fleet, id string) (workqueue.Task, error) {
	var t workqueue.Task
	return t, ask(ctx, gw, f, nil, &t, "cancel", id)
}

func Retry(ctx context.Context, gw fleetgateway.Gateway, f *fleet.Fleet, id string) (workqueue.Task, error) {
	var t workqueue.Task
	return t, ask(ctx, gw, f, nil, &t, "retry", id)
}

func ask(ctx context.Context, gw fleetgateway.Gateway, f *fleet.Fleet, stdin []byte, out any, args ...string) error {
	if !gw.Deployed() {
		if err := NoQueue(f); err != nil {
			return err
		}
	}
	proxy := gw.Name
	err := gw.JSON(ctx, stdin, out, append([]string{"queue"}, args...)...)
	if refused, ok := errors.AsType[*protocol.Error](err); ok {
		// The dispatcher's own words: "task-9 is already done".
		return errors.New(termsafe.Visible(refused.Message))
	}
	if err != nil {
		return fmt.Errorf("asking the dispatcher %s (is the fleet up? docker magents up): %v", proxy, err)
	}
	// A task's result, branch, detail and error are what its agent reported.
	termsafe.Value(out)
	return nil
}
