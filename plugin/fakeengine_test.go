package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/flags"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	mobyclient "github.com/moby/moby/client"
	"github.com/spf13/pflag"

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
	logs       [2]string // what every container wrote on its standard output and error
	logsAsked  []string
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
		"queue ls":   func() error { return runQueueLs(t.Context(), cli, root, queueLsOptions{where: &runtimeOptions{}}) },
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
	// Every command that reaches a fleet takes the same flags, refused alike.
	for name, run := range map[string]func(runtimeOptions) error{
		"usage": func(w runtimeOptions) error {
			return runUsage(t.Context(), cli, root, usageOptions{by: "agent", where: w})
		},
		"queue ls": func(w runtimeOptions) error { return runQueueLs(t.Context(), cli, root, queueLsOptions{where: &w}) },
		"dashboard": func(w runtimeOptions) error {
			return runDashboard(t.Context(), cli, root, dashboardOptions{interval: time.Second, where: w})
		},
		"budget set": func(w runtimeOptions) error {
			return runBudgetSet(t.Context(), cli, root, budgetSetOptions{usd: 1, where: w}, usdFlags(t), nil)
		},
	} {
		if err := run(both); err == nil || !strings.Contains(err.Error(), "give one") {
			t.Errorf("%s --swarm --k8s: %v", name, err)
		}
		if err := run(runtimeOptions{namespace: "agents"}); err == nil || !strings.Contains(err.Error(), "go with --k8s") {
			t.Errorf("%s --namespace without --k8s: %v", name, err)
		}
	}
	if len(engine.listed) != 0 {
		t.Errorf("refused commands asked the engine: %v", engine.listed)
	}
}

// usdFlags is budget set's flags with --usd given.
func usdFlags(t *testing.T) *pflag.FlagSet {
	flags := pflag.NewFlagSet("budget set", pflag.ContinueOnError)
	flags.Float64("usd", 0, "")
	flags.Float64("fleet-usd", 0, "")
	if err := flags.Parse([]string{"--usd", "1"}); err != nil {
		t.Fatal(err)
	}
	return flags
}

// ContainerLogs answers a container's logs as the engine does for one without a
// terminal: its standard output and error multiplexed (stdcopy).
func (e *fakeEngine) ContainerLogs(_ context.Context, id string, opts mobyclient.ContainerLogsOptions) (mobyclient.ContainerLogsResult, error) {
	e.logsAsked = append(e.logsAsked, id+" tail="+opts.Tail+" follow="+strconv.FormatBool(opts.Follow))
	var b bytes.Buffer
	for stream, text := range map[stdcopy.StdType]string{stdcopy.Stdout: e.logs[0], stdcopy.Stderr: e.logs[1]} {
		// A frame: the stream, three zero bytes, the length (big-endian), the bytes.
		b.Write([]byte{byte(stream), 0, 0, 0})
		b.Write(binary.BigEndian.AppendUint32(nil, uint32(len(text))))
		b.WriteString(text)
	}
	return io.NopCloser(&b), nil
}

// logs against a fake engine: the agent's container's logs, its output and errors apart,
// what the agent wrote shown and not obeyed (a clipboard write is made visible); bad
// input is refused before the engine is asked.
func TestLogsAgainstAFakeEngine(t *testing.T) {
	f := fleet.New("logs", filepath.Join(t.TempDir(), fleet.DefaultFile))
	f.Agents, f.Egress = 2, fleet.EgressOpen
	root := savedFleet(t, f)
	engine := &fakeEngine{
		inspect: map[string]container.InspectResponse{"logs-agent-2": {Config: &container.Config{}}},
		logs:    [2]string{"claude is ready\n\x1b]52;c;aGk=\x07\n", "a warning\n"},
	}
	cli, out, errOut := newFakeCli(t, engine)
	if err := runLogs(t.Context(), cli, root, "2", logsOptions{tail: "5"}); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); !strings.Contains(got, "claude is ready\n") || strings.Contains(got, "\x1b") || !strings.Contains(got, "^[]52;c;aGk=^G") {
		t.Errorf("logs wrote %q", got)
	}
	if got := errOut.String(); got != "a warning\n" {
		t.Errorf("logs' errors: %q", got)
	}
	if want := []string{"logs-agent-2 tail=5 follow=false"}; !slices.Equal(engine.logsAsked, want) {
		t.Errorf("logs asked for %v, want %v", engine.logsAsked, want)
	}
	for _, c := range []struct {
		agent string
		opts  logsOptions
		want  string
	}{
		{"agent-3", logsOptions{tail: "all"}, "there is no agent-3"},
		{"2", logsOptions{tail: "ten"}, "invalid --tail"},
		{"2", logsOptions{tail: "all", where: runtimeOptions{context: "prod"}}, "--context and --namespace go with --k8s"},
		{"2", logsOptions{tail: "all", where: runtimeOptions{swarm: true, k8s: true}}, "give one"},
	} {
		if err := runLogs(t.Context(), cli, root, c.agent, c.opts); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("logs %s %+v: %v, want %q", c.agent, c.opts, err, c.want)
		}
	}
	if len(engine.logsAsked) != 1 {
		t.Errorf("refused logs asked the engine: %v", engine.logsAsked)
	}
}
