package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/flags"
	"github.com/moby/moby/api/types/container"
	mobyclient "github.com/moby/moby/client"

	"github.com/docker-magents/docker-magents/compose"
	"github.com/docker-magents/docker-magents/internal/fleet"
)

// fakeEngine is the Engine API as a command's own logic needs it, scripted: the
// containers it lists and inspects. What it is not scripted for panics (the embedded nil
// interface), so a test shows what else a command asked.
type fakeEngine struct {
	mobyclient.APIClient
	containers []container.Summary
	inspect    map[string]container.InspectResponse
	listed     []mobyclient.ContainerListOptions
}

// Ping answers as Engine 20.10 (API 1.41), the oldest supported.
func (e *fakeEngine) Ping(context.Context, mobyclient.PingOptions) (mobyclient.PingResult, error) {
	return mobyclient.PingResult{APIVersion: "1.41", OSType: "linux"}, nil
}

// ExecCreate refuses: the agents' supervisors are not scripted, and a status read
// without them is the engine's alone.
func (e *fakeEngine) ExecCreate(context.Context, string, mobyclient.ExecCreateOptions) (mobyclient.ExecCreateResult, error) {
	return mobyclient.ExecCreateResult{}, errors.New("the fake engine runs no exec")
}

func (e *fakeEngine) ContainerList(_ context.Context, opts mobyclient.ContainerListOptions) (mobyclient.ContainerListResult, error) {
	e.listed = append(e.listed, opts)
	return mobyclient.ContainerListResult{Items: e.containers}, nil
}

func (e *fakeEngine) ContainerInspect(_ context.Context, id string, _ mobyclient.ContainerInspectOptions) (mobyclient.ContainerInspectResult, error) {
	return mobyclient.ContainerInspectResult{Container: e.inspect[id]}, nil
}

// newFakeCli is a docker CLI over engine, its output and errors kept.
func newFakeCli(t *testing.T, engine mobyclient.APIClient) (command.Cli, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	var out, errOut bytes.Buffer
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	cli, err := command.NewDockerCli(command.WithAPIClient(engine), command.WithOutputStream(&out), command.WithErrorStream(&errOut))
	if err != nil {
		t.Fatal(err)
	}
	// Initialised as the plugin framework does before a command runs (else the CLI's
	// Client() exits the process); the engine stays the one given.
	if err := cli.Initialize(flags.NewClientOptions()); err != nil {
		t.Fatal(err)
	}
	return cli, &out, &errOut
}

// savedFleet writes f's compose file (as up does) in a directory of its own.
func savedFleet(t *testing.T, f *fleet.Fleet) *rootOptions {
	t.Helper()
	if err := compose.PrepareEnvFile(f.Abs(f.EnvFile)); err != nil {
		t.Fatal(err)
	}
	b, err := compose.Render(t.Context(), f)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.ComposeFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return &rootOptions{file: f.ComposeFile}
}

// listedAgent is a compose agent container as the engine lists it.
func listedAgent(project, agent, id string, state container.ContainerState) container.Summary {
	return container.Summary{ID: id, Names: []string{"/" + project + "-" + agent}, Image: fleet.DefaultImage, State: state,
		Created: time.Now().Add(-time.Hour).Unix(),
		Labels:  map[string]string{fleet.ComposeProjectLabel: project, fleet.ComposeServiceLabel: agent, fleet.AgentLabel: strings.TrimPrefix(agent, "agent-")}}
}

// ps against a fake engine: it asks for the project's agent containers, shows a running
// healthy agent and, with -a, a stopped one; -q prints IDs; json carries each agent's
// fields; a fleet that does not exist is said.
func TestPsAgainstAFakeEngine(t *testing.T) {
	f := fleet.New("fake", filepath.Join(t.TempDir(), fleet.DefaultFile))
	f.Agents, f.Egress = 2, fleet.EgressOpen // open egress: no proxy to ask
	root := savedFleet(t, f)
	started := time.Now().Add(-3*time.Hour - time.Minute).UTC().Format(time.RFC3339Nano)
	engine := &fakeEngine{
		containers: []container.Summary{
			listedAgent("fake", "agent-1", "1111111111111111", container.StateRunning),
			listedAgent("fake", "agent-2", "2222222222222222", container.StateExited),
		},
		inspect: map[string]container.InspectResponse{
			"1111111111111111": {State: &container.State{Running: true, StartedAt: started, Health: &container.Health{Status: container.Healthy}}},
			"2222222222222222": {State: &container.State{Status: container.StateExited, ExitCode: 137}},
		},
	}
	cli, out, _ := newFakeCli(t, engine)
	if err := runPs(t.Context(), cli, root, psOptions{}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[1], "agent-1") || !strings.Contains(lines[1], "fake-agent-1") || !strings.Contains(lines[1], "healthy") || !strings.Contains(lines[1], "3 hours") {
		t.Errorf("ps:\n%s", out)
	}
	if got := engine.listed[0].Filters; !strings.Contains(jsonOf(t, got), "com.docker.compose.project=fake") || !strings.Contains(jsonOf(t, got), fleet.AgentLabel) {
		t.Errorf("ps asked for %s", jsonOf(t, got))
	}
	out.Reset()
	if err := runPs(t.Context(), cli, root, psOptions{all: true, format: "json"}); err != nil {
		t.Fatal(err)
	}
	var rows []struct{ Agent, Container, ContainerState, Health string }
	dec := json.NewDecoder(out)
	for dec.More() {
		var r struct{ Agent, Container, ContainerState, Health string }
		if err := dec.Decode(&r); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	if len(rows) != 2 || rows[1].Agent != "agent-2" || rows[1].ContainerState != "exited" || rows[0].Health != "healthy" {
		t.Errorf("ps -a --format json: %+v", rows)
	}
	out.Reset()
	if err := runPs(t.Context(), cli, root, psOptions{quiet: true, all: true}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(out.String()); len(got) != 2 || got[0] != "111111111111" {
		t.Errorf("ps -q -a: %q", got)
	}
	// No fleet: said, with what to do.
	err := runPs(t.Context(), cli, &rootOptions{file: filepath.Join(t.TempDir(), fleet.DefaultFile)}, psOptions{})
	if err == nil || !strings.Contains(err.Error(), "no fleet") || !strings.Contains(err.Error(), "docker magents up") {
		t.Errorf("ps without a fleet: %v", err)
	}
	if err := runPs(t.Context(), cli, root, psOptions{format: "{{.Nope"}); err == nil || !strings.Contains(err.Error(), "invalid --format") {
		t.Errorf("a bad template: %v", err)
	}
}

func jsonOf(t *testing.T, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The gateway's commands on a fleet that has none (open egress) say so and what to do,
// without asking the engine for more than the commands need; wait with a state that is
// not one says which are.
func TestGatewayCommandsWithoutAGateway(t *testing.T) {
	f := fleet.New("open", filepath.Join(t.TempDir(), fleet.DefaultFile))
	f.Egress = fleet.EgressOpen
	root := savedFleet(t, f)
	engine := &fakeEngine{}
	cli, out, _ := newFakeCli(t, engine)
	for name, run := range map[string]func() error{
		"usage":      func() error { return runUsage(t.Context(), cli, root, usageOptions{by: "agent"}) },
		"queue ls":   func() error { return runQueueLs(t.Context(), cli, root, queueLsOptions{where: &gatewayOptions{}}) },
		"egress log": func() error { return runEgressLog(t.Context(), cli, root, egressLogOptions{}) },
	} {
		err := run()
		if err == nil || !strings.Contains(err.Error(), "egress") || !strings.Contains(err.Error(), "docker magents up") {
			t.Errorf("%s without a gateway: %v", name, err)
		}
	}
	if out.Len() != 0 {
		t.Errorf("refused commands wrote %q", out.String())
	}
	err := runWait(t.Context(), cli, root, nil, waitOptions{states: []string{"sleepy"}, timeout: time.Second, interval: 100 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "sleepy") || !strings.Contains(err.Error(), "idle") {
		t.Errorf("wait --for sleepy: %v", err)
	}
}

// A fleet runs in one place: --swarm with --k8s is refused before anything is asked, and
// wait on a stack or a cluster takes agents by their names alone.
func TestRuntimeFlags(t *testing.T) {
	f := fleet.New("where", filepath.Join(t.TempDir(), fleet.DefaultFile))
	f.Egress = fleet.EgressOpen
	root := savedFleet(t, f)
	engine := &fakeEngine{}
	cli, _, _ := newFakeCli(t, engine)
	both := runtimeOptions{swarm: true, k8s: true}
	if err := runPs(t.Context(), cli, root, psOptions{where: both}); err == nil || !strings.Contains(err.Error(), "give one") {
		t.Errorf("ps --swarm --k8s: %v", err)
	}
	if err := runWait(t.Context(), cli, root, nil, waitOptions{where: both, interval: time.Second}); err == nil || !strings.Contains(err.Error(), "give one") {
		t.Errorf("wait --swarm --k8s: %v", err)
	}
	if err := runWait(t.Context(), cli, root, []string{"gateway"}, waitOptions{where: runtimeOptions{swarm: true}, interval: time.Second}); err == nil || !strings.Contains(err.Error(), "agents are named agent-1") {
		t.Errorf("wait --swarm gateway: %v", err)
	}
	if len(engine.listed) != 0 {
		t.Errorf("refused commands asked the engine: %v", engine.listed)
	}
}
