package fleetstatus

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	mobyclient "github.com/moby/moby/client"

	"github.com/docker-magents/docker-magents/images/supervisor/agentstate"
	"github.com/docker-magents/docker-magents/internal/fleet"
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

// A pushed report gets the problem of what the proxy refused the agent lately, from the
// proxy's own account: the agent's, not another's, and not an old refusal.
func TestPushedHealthNamesRecentDenials(t *testing.T) {
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var rep EgressReport
	if err := json.Unmarshal([]byte(`{"Recent": [
		{"Time": "2026-12-01T09:50:00Z", "Agent": "agent-1", "Host": "old.example:443"},
		{"Time": "2026-12-01T09:59:00Z", "Agent": "agent-1", "Host": "a.example:443"},
		{"Time": "2026-12-01T09:59:30Z", "Agent": "agent-2", "Host": "other.example:443"},
		{"Time": "2026-12-01T09:59:50Z", "Agent": "agent-1", "Host": "b.example:443"}]}`), &rep); err != nil {
		t.Fatal(err)
	}
	rep.Now = now
	rep.Agents = map[string]PushedHealth{
		"agent-1": {At: now, Health: json.RawMessage(`{"state":"idle","problems":["disk is full"]}`)},
		"agent-3": {At: now, Health: json.RawMessage(`{"state":"idle"}`)},
	}
	h, ok := rep.pushed("agent-1", now.Add(-time.Hour))
	want := []string{"disk is full", agentstate.EgressProblem(2, "b.example:443")}
	if !ok || !slices.Equal(h.Problems, want) {
		t.Errorf("agent-1: %v %q, want %q", ok, h.Problems, want)
	}
	if h, ok := rep.pushed("agent-3", now.Add(-time.Hour)); !ok || len(h.Problems) != 0 {
		t.Errorf("agent-3, refused nothing: %v %q", ok, h.Problems)
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

// inspectCounter is an engine that only counts inspects, and refuses them.
type inspectCounter struct {
	mobyclient.APIClient
	inspects int
}

func (c *inspectCounter) ContainerInspect(context.Context, string, mobyclient.ContainerInspectOptions) (mobyclient.ContainerInspectResult, error) {
	c.inspects++
	return mobyclient.ContainerInspectResult{}, errors.New("no inspect in this test")
}

// ps of a running agent with a current report to the proxy takes it without an inspect;
// a report older than the container, a stopped container or --live inspect as before.
func TestStatusFromTheReportAlone(t *testing.T) {
	now := time.Now().UTC()
	created := now.Add(-10 * time.Minute)
	f := fleet.New("p", "/w/docker-compose.claude.yml")
	c := container.Summary{ID: "c1", Names: []string{"/p-agent-1"}, State: container.StateRunning, Created: created.Unix(),
		Labels: map[string]string{fleet.ComposeServiceLabel: "agent-1"}}
	report := func(at time.Time) func() *EgressReport {
		return func() *EgressReport {
			return &EgressReport{Now: now, Agents: map[string]PushedHealth{"agent-1": {At: at, Health: json.RawMessage(
				`{"status":"healthy","state":"waiting","detail":"Claude needs your permission","since":"` + now.Add(-time.Minute).Format(time.RFC3339Nano) +
					`","startedAt":"` + created.Add(time.Second).Format(time.RFC3339Nano) + `","restarts":2}`)}}}
		}
	}
	api := &inspectCounter{}
	s, err := agentStatus(context.Background(), api, f, c, report(now.Add(-5*time.Second)), false)
	if err != nil || api.inspects != 0 {
		t.Fatalf("a current report: %v, %d inspects", err, api.inspects)
	}
	if s.State != agentstate.Waiting || s.Health != "healthy" || s.Restarts != 2 || s.Detail == "" || s.StateSeconds < 59 ||
		!s.StartedAt.Equal(created.Add(time.Second)) || s.UptimeSeconds < 590 || s.Container != "p-agent-1" {
		t.Errorf("from the report: %+v", s)
	}
	for name, run := range map[string]func() error{
		"a report from before the container": func() error {
			_, err := agentStatus(context.Background(), api, f, c, report(created.Add(-time.Second)), false)
			return err
		},
		"live": func() error {
			_, err := agentStatus(context.Background(), api, f, c, report(now), true)
			return err
		},
		"a stopped container": func() error {
			stopped := c
			stopped.State = container.StateExited
			_, err := agentStatus(context.Background(), api, f, stopped, report(now), false)
			return err
		},
	} {
		before := api.inspects
		if err := run(); err == nil || api.inspects != before+1 {
			t.Errorf("%s: not inspected (%v)", name, err)
		}
	}
}

// One container per agent: compose's by service; a stack's by its service without the
// stack's name, the running task's over its past ones, else the newest; never the dev
// service's.
func TestAgentContainers(t *testing.T) {
	stack := func(id, service string, state container.ContainerState, created int64) container.Summary {
		return container.Summary{ID: id, State: state, Created: created, Labels: map[string]string{"com.docker.swarm.service.name": "p_" + service}}
	}
	list := []container.Summary{
		{ID: "c1", State: container.StateRunning, Labels: map[string]string{fleet.ComposeServiceLabel: "agent-1"}},
		{ID: "dev", State: container.StateRunning, Labels: map[string]string{fleet.ComposeServiceLabel: fleet.DevService}},
		stack("s2-old", "agent-2", container.StateExited, 100),
		stack("s2-run", "agent-2", container.StateRunning, 200),
		stack("s2-older", "agent-2", container.StateExited, 50),
		stack("s3-old", "agent-3", container.StateExited, 100),
		stack("s3-new", "agent-3", container.StateExited, 300),
	}
	items, seen := agentContainers(list, "p")
	got := map[string]string{}
	for agent, i := range seen {
		got[agent] = items[i].ID
	}
	want := map[string]string{"agent-1": "c1", "agent-2": "s2-run", "agent-3": "s3-new"}
	if len(items) != 3 || !maps.Equal(got, want) {
		t.Errorf("agentContainers: %v (%d containers), want %v", got, len(items), want)
	}
}
