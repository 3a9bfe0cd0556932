package fleetops

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/flags"
	mobyclient "github.com/moby/moby/client"

	"github.com/docker-magents/docker-magents/internal/fleet"
)

// fakeEngine answers what up asks before it writes: the engine's version and the
// project's volumes. Anything else panics (the embedded nil interface).
type fakeEngine struct {
	mobyclient.APIClient
	down bool
}

func (e *fakeEngine) Ping(context.Context, mobyclient.PingOptions) (mobyclient.PingResult, error) {
	if e.down {
		return mobyclient.PingResult{}, errors.New("connection refused")
	}
	return mobyclient.PingResult{APIVersion: "1.41", OSType: "linux"}, nil
}

func (e *fakeEngine) VolumeList(context.Context, mobyclient.VolumeListOptions) (mobyclient.VolumeListResult, error) {
	return mobyclient.VolumeListResult{}, nil
}

func fakeService(t *testing.T, engine *fakeEngine) *Service {
	t.Helper()
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	var out bytes.Buffer
	cli, err := command.NewDockerCli(command.WithAPIClient(engine), command.WithOutputStream(&out), command.WithErrorStream(&out))
	if err != nil {
		t.Fatal(err)
	}
	if err := cli.Initialize(flags.NewClientOptions()); err != nil {
		t.Fatal(err)
	}
	return New(cli)
}

func ptr[T any](v T) *T { return &v }

// An up refused for its settings, or with no engine, leaves the checkout as it was: no
// compose file, no state dir, no env file.
func TestRefusedUpWritesNothing(t *testing.T) {
	for name, c := range map[string]struct {
		engine   fakeEngine
		settings Settings
		want     string
	}{
		"no engine":      {fakeEngine{down: true}, Settings{}, "no Docker engine answers"},
		"no workspace":   {fakeEngine{}, Settings{Workspace: ptr("missing")}, "does not exist"},
		"bad isolation":  {fakeEngine{}, Settings{Isolation: ptr("sideways")}, "sideways"},
		"too many":       {fakeEngine{}, Settings{Agents: ptr(fleet.MaxAgents + 1)}, "agents"},
		"bad permission": {fakeEngine{}, Settings{PermissionMode: ptr("yolo")}, "yolo"},
		// No credential the gateway relays (none here), so no gateway to enforce a budget.
		"budget without a gateway": {fakeEngine{}, Settings{BudgetUSD: ptr(5.0)}, "enforced by the model gateway"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.Chmod(dir, 0o777); err != nil { // writable by the agents' user
				t.Fatal(err)
			}
			t.Chdir(dir)
			for _, name := range []string{"ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN"} {
				t.Setenv(name, "")
			}
			t.Setenv("HOME", t.TempDir()) // no host login either
			engine := c.engine
			_, err := fakeService(t, &engine).Up(t.Context(), UpRequest{
				ComposeFile: filepath.Join(dir, fleet.DefaultFile), Settings: c.settings, Log: &bytes.Buffer{},
			})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("up: %v, want %q", err, c.want)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("a refused up left %v", entries)
			}
		})
	}
}

// Settings keep what they do not give; a workspace given moves the agents' user with it.
func TestSettingsKeepWhatTheyDoNotGive(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	f := fleet.New("keep", filepath.Join(dir, fleet.DefaultFile))
	if err := (Settings{Agents: ptr(3), Memory: ptr("8g")}).Apply(f, true); err != nil {
		t.Fatal(err)
	}
	if err := (Settings{Image: ptr("example/agent:1"), Tasks: ptr([]string{"a", "b", "c", "d"})}).Apply(f, false); err != nil {
		t.Fatal(err)
	}
	if f.Agents != 3 || f.Memory != "8g" || f.Image != "example/agent:1" {
		t.Errorf("after a second apply: %+v", f)
	}
	if len(f.Tasks) != 3 || len(f.Queued) != 1 || f.Queued[0] != "d" {
		t.Errorf("tasks beyond one per agent are queued: tasks %q, queued %q", f.Tasks, f.Queued)
	}
	if (Settings{Image: ptr("x")}).Given("image") != true || (Settings{}).Given("image") || (Settings{Tasks: ptr([]string{})}).Given("tasks") != true {
		t.Error("Given does not say which settings were given")
	}
}

// down --volumes of clones it cannot check against the workspace removes nothing and says
// how to go on.
func TestDownKeepsClonesItCannotCheck(t *testing.T) {
	dir := t.TempDir()
	f := fleet.New("gone", filepath.Join(dir, fleet.DefaultFile))
	f.Isolation = fleet.IsolationClone
	err := fakeService(t, &fakeEngine{}).Down(t.Context(), DownRequest{Fleet: f, Volumes: true, Log: &bytes.Buffer{}})
	if err == nil || !strings.Contains(err.Error(), "give --force") {
		t.Fatalf("down --volumes of clones without a repository: %v", err)
	}
}

// A budget needs the gateway, which relays an API key: up decides the credential before
// it judges the budget, and writes nothing to decide either.
func TestBudgetIsJudgedWithTheCredentialDecided(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir)
	t.Setenv("HOME", t.TempDir())
	t.Setenv("ANTHROPIC_API_KEY", "sk-ant-api03-"+strings.Repeat("k", 80))
	s := fakeService(t, &fakeEngine{})
	req := UpRequest{ComposeFile: filepath.Join(dir, fleet.DefaultFile), Settings: Settings{BudgetUSD: ptr(5.0)}, Log: &bytes.Buffer{}}
	p, err := s.prepareUp(t.Context(), req, true)
	if err != nil {
		t.Fatalf("a budget with an API key to relay: %v", err)
	}
	if f := p.fleet; f.Credential != "ANTHROPIC_API_KEY" || !f.ModelGateway() {
		t.Errorf("the fleet's credential %q, its gateway %v", p.fleet.Credential, p.fleet.ModelGateway())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("deciding wrote %v", entries)
	}
}

// A new project builds its agents' image from the devcontainer its workspace has; --image
// names the image instead; --devcontainer chooses, or none; a fleet saved before
// devcontainers keeps its image.
func TestDevcontainerIsChosen(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, ".devcontainer", "go"), 0o755)
	os.WriteFile(filepath.Join(dir, ".devcontainer", "go", "devcontainer.json"), []byte(`{"image": "golang:1.26-bookworm"}`), 0o644)
	apply := func(s Settings, saved *fleet.Fleet) (*fleet.Fleet, error) {
		f := saved
		if f == nil {
			f = fleet.New("dc", filepath.Join(dir, fleet.DefaultFile))
		}
		return f, s.Apply(f, saved == nil)
	}
	f, err := apply(Settings{}, nil)
	if err != nil || f.Devcontainer != "./.devcontainer/go/devcontainer.json" {
		t.Fatalf("a new project: %q %v", f.Devcontainer, err)
	}
	if _, err := planImage(f, &bytes.Buffer{}); err != nil || !strings.HasPrefix(f.Image, "magents/claude-agent:devcontainer-") {
		t.Errorf("its image: %q %v", f.Image, err)
	}
	if f, err := apply(Settings{Image: ptr("example/agent:1")}, nil); err != nil || f.Devcontainer != "none" || f.Image != "example/agent:1" {
		t.Errorf("--image: %q %q %v", f.Devcontainer, f.Image, err)
	}
	if _, err := apply(Settings{Image: ptr("x"), Devcontainer: ptr("go")}, nil); err == nil || !strings.Contains(err.Error(), "give one") {
		t.Errorf("--image with --devcontainer: %v", err)
	}
	if f, err := apply(Settings{Devcontainer: ptr("none")}, nil); err != nil || f.Devcontainer != "none" {
		t.Errorf("--devcontainer none: %q %v", f.Devcontainer, err)
	}
	if _, err := apply(Settings{Devcontainer: ptr("rust")}, nil); err == nil || !strings.Contains(err.Error(), "go") {
		t.Errorf("--devcontainer rust: %v", err)
	}
	old := fleet.New("dc", filepath.Join(dir, fleet.DefaultFile))
	if f, err := apply(Settings{}, old); err != nil || f.Devcontainer != "none" || f.Image != fleet.DefaultImage {
		t.Errorf("a fleet saved before devcontainers: %q %q %v", f.Devcontainer, f.Image, err)
	}
	var log bytes.Buffer
	f, _ = apply(Settings{}, nil)
	_, _ = planImage(f, &log)
	was := f.Image
	os.WriteFile(filepath.Join(dir, ".devcontainer", "go", "devcontainer.json"), []byte(`{"image": "debian:bookworm-slim"}`), 0o644)
	log.Reset()
	if _, err := planImage(f, &log); err != nil || f.Image == was || !strings.Contains(log.String(), "changed") {
		t.Errorf("a changed devcontainer: %q (was %q), said %q, %v", f.Image, was, log.String(), err)
	}
}
