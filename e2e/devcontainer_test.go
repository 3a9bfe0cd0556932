//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/icmd"
)

// copyTree copies the fixture dir src into dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// A Go module whose devcontainer is a Go toolchain image: up builds the agents' image
// from it (the agent's layer on the project's base), the agents run the project's own go,
// an unchanged project does not rebuild, and a changed devcontainer is a new image, said.
func TestDevcontainerImage(t *testing.T) {
	everyEngine(t, "the project's base and the agent's layer are built by the engine's BuildKit")
	parallelSuite(t)
	e := newFleetEnv(t, "devcontainer").inProject("dcgo")
	copyTree(t, "testdata/devcontainer-go", e.dir)
	e.initRepo()
	t.Cleanup(func() { e.magents("down", "--volumes", "--force") })
	up := e.magents(append([]string{"up"}, caFlags()...)...)
	up.Assert(t, icmd.Success)
	if !strings.Contains(up.Stderr(), "Agents' image: magents/claude-agent:devcontainer-") || !strings.Contains(up.Stderr(), "from the devcontainer ./.devcontainer/devcontainer.json") {
		t.Errorf("up did not say the agents' image:\n%s", up.Stderr())
	}
	agent := e.container("agent-1")
	image := strings.TrimSpace(docker("inspect", "-f", "{{.Config.Image}}", agent).Stdout())
	if !strings.HasPrefix(image, "magents/claude-agent:devcontainer-") {
		t.Fatalf("agent-1 runs %s", image)
	}
	// The project's toolchain, as the agent's user, where the agent works.
	docker("exec", "-w", "/workspace", agent, "go", "vet", "./...").Assert(t, icmd.Success)
	test := docker("exec", "-w", "/workspace", agent, "go", "test", "./...")
	if test.ExitCode == 0 || !strings.Contains(test.Combined(), "Sum(1, 2, 3) = 5, want 6") {
		t.Errorf("the fixture's failing test, run by the agent:\n%s", test.Combined())
	}
	// The devcontainer's containerEnv, but for the names the fleet sets.
	if env := docker("exec", agent, "env").Stdout(); !strings.Contains(env, "GOFLAGS=-count=1") || strings.Contains(env, "elsewhere.example") {
		t.Errorf("the agent's environment:\n%s", env)
	}
	if !strings.Contains(up.Stderr(), "devcontainer: containerEnv ANTHROPIC_BASE_URL ignored") {
		t.Errorf("up did not say the reserved name was ignored:\n%s", up.Stderr())
	}
	if uid := strings.TrimSpace(docker("exec", agent, "id", "-u").Stdout()); uid == "0" {
		t.Error("the agent runs as root on the devcontainer's base")
	}
	e.magents("wait", "--for", "idle", "--timeout", "90s").Assert(t, icmd.Success)
	// The lifecycle commands ran in the agent before Claude started, and doctor says so.
	docker("exec", agent, "cat", "/tmp/post-create").Assert(t, icmd.Expected{Out: "go version go1.26"})
	docker("exec", agent, "test", "-s", "/tmp/post-start").Assert(t, icmd.Success)
	if doc := e.magents("doctor", "agent-1").Combined(); !strings.Contains(doc, "lifecycle") || strings.Contains(doc, "postCreateCommand failed") {
		t.Errorf("doctor on the lifecycle:\n%s", doc)
	}

	// Unchanged: the same image, nothing built.
	again := e.magents("up")
	again.Assert(t, icmd.Success)
	if strings.Contains(again.Stderr(), "Building") {
		t.Errorf("an unchanged project rebuilt:\n%s", again.Stderr())
	}
	// Changed: a new image, said in one line.
	os.WriteFile(filepath.Join(e.dir, ".devcontainer", "devcontainer.json"), []byte(`{"image": "debian:bookworm-slim"}`), 0o644)
	changed := e.magents(append([]string{"up"}, caFlags()...)...)
	changed.Assert(t, icmd.Success)
	if !strings.Contains(changed.Stderr(), "The devcontainer (./.devcontainer/devcontainer.json) changed") {
		t.Errorf("a changed devcontainer was not said:\n%s", changed.Stderr())
	}
	waitFor(t, time.Minute, "agent-1 to run the new image", func() (bool, string) {
		now := strings.TrimSpace(docker("inspect", "-f", "{{.Config.Image}}", agent).Stdout())
		return now != image && strings.HasPrefix(now, "magents/claude-agent:devcontainer-"), now
	})
	if res := docker("exec", agent, "go", "version"); res.ExitCode == 0 || !strings.Contains(res.Combined(), "not found") {
		t.Errorf("the Go toolchain is still there on the new base: %s", res.Combined())
	}
}

// A hostile devcontainer: what would widen what an agent can do is ignored, and the
// command the spec runs on the host is never run, each said in its line; the agent is
// as confined as any.
func TestDevcontainerHostile(t *testing.T) {
	everyEngine(t, "confinement is the engine's: privileges, capabilities, mounts, networks")
	parallelSuite(t)
	e := newFleetEnv(t, "devcontainer-hostile").inProject("dchostile")
	copyTree(t, "testdata/devcontainer-hostile", e.dir)
	e.initRepo()
	t.Cleanup(func() { e.magents("down", "--volumes", "--force") })
	up := e.magents(append([]string{"up"}, caFlags()...)...)
	up.Assert(t, icmd.Success)
	for _, want := range []string{"initializeCommand never run", "runArgs ignored", "privileged ignored", "capAdd ignored",
		"securityOpt ignored", "mounts ignored", "init ignored"} {
		if !strings.Contains(up.Stderr(), "devcontainer: "+want) {
			t.Errorf("up did not say %q:\n%s", want, up.Stderr())
		}
	}
	if _, err := os.Stat(filepath.Join(e.dir, "initialize-ran")); err == nil {
		t.Error("initializeCommand ran on the host")
	}
	agent := e.container("agent-1")
	inspect := docker("inspect", "-f", "{{.HostConfig.Privileged}} {{.HostConfig.CapAdd}} {{.HostConfig.NetworkMode}} {{range .Mounts}}{{.Destination}} {{end}}", agent).Stdout()
	if strings.HasPrefix(inspect, "true") || strings.Contains(inspect, "SYS_ADMIN") || strings.Contains(inspect, "NET_ADMIN") ||
		strings.Contains(inspect, " host ") || strings.Contains(inspect, " /host ") {
		t.Errorf("the agent took the devcontainer's privileges: %s", inspect)
	}
	if caps := docker("exec", agent, "grep", "CapEff", "/proc/self/status").Stdout(); !strings.Contains(caps, "0000000000000000") {
		t.Errorf("the agent has capabilities: %s", caps)
	}
}
