package fleetstatus

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/docker-magents/docker-magents/images/supervisor/agentstate"
)

// An agent's report to the proxy stands for now only when it is from the container's
// current run, recent by the proxy's clock, and says a state.
func TestPushedHealth(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	started := now.Add(-time.Hour)
	report := func(at time.Time, body string) *EgressReport {
		return &EgressReport{Now: now, Agents: map[string]PushedHealth{"agent-1": {At: at, Health: json.RawMessage(body)}}}
	}
	for _, c := range []struct {
		name string
		rep  *EgressReport
		want agentstate.State
	}{
		{"current", report(now.Add(-5*time.Second), `{"state":"idle"}`), agentstate.Idle},
		{"no proxy", nil, ""},
		{"stale", report(now.Add(-pushedFresh-time.Second), `{"state":"idle"}`), ""},
		{"from before the container started", report(started.Add(-time.Second), `{"state":"working"}`), ""},
		{"no state", report(now, `{"session":"claude"}`), ""},
		{"not health", report(now, `{"state":1}`), ""},
	} {
		h, ok := c.rep.pushed("agent-1", started)
		if ok != (c.want != "") || h.State != c.want && ok {
			t.Errorf("%s: %v %q, want %q", c.name, ok, h.State, c.want)
		}
		if _, ok := c.rep.pushed("agent-2", started); ok {
			t.Errorf("%s: a report for an agent that sent none", c.name)
		}
	}
}

// The proxy's report outlives the caller's deadline (it is what stands when the agents did
// not answer in time), not the caller's cancellation.
func TestPastDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
	defer cancel()
	<-ctx.Done()
	c, stop := pastDeadline(ctx, time.Minute)
	defer stop()
	if c.Err() != nil {
		t.Fatalf("ended with its caller's deadline: %v", c.Err())
	}
	if dl, ok := c.Deadline(); !ok || time.Until(dl) < 50*time.Second {
		t.Fatalf("deadline %v (%v), want a minute from now", dl, ok)
	}

	ctx, cancel = context.WithCancel(context.Background())
	c, stop = pastDeadline(ctx, time.Minute)
	defer stop()
	cancel()
	select {
	case <-c.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("did not end with its caller's cancellation")
	}
}
