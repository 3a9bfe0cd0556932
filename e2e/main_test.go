//go:build e2e

// Package e2e drives the real docker CLI, with the freshly built plugin, against a real
// Docker Engine and real BuildKit. `make test` runs it; DOCKER_HOST selects the engine.
package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"gotest.tools/v3/icmd"
)

var (
	repoRoot string
	// caCert is the extra CA bundle builds need behind this machine's TLS-intercepting proxy.
	caCert string
)

func TestMain(m *testing.M) {
	os.Exit(setup(m))
}

func setup(m *testing.M) int {
	if out, err := exec.Command("docker", "version", "--format", "{{.Server.Version}}").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: no Docker engine answers (%v): %s\nStart one (bash hack/install-engine.sh) or point DOCKER_HOST at one.\n", err, out)
		return 1
	}
	wd, _ := os.Getwd()
	repoRoot = filepath.Dir(wd)
	tmp, err := os.MkdirTemp("", "magents-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)

	// The plugin under test is found through a private docker config's cliPluginsExtraDirs,
	// as docker/cli's own plugin e2e tests do; the system's compose and buildx stay visible.
	plugins := filepath.Join(tmp, "plugins")
	build := exec.Command("go", "build", "-o", filepath.Join(plugins, "docker-magents"), "./plugin")
	build.Dir = repoRoot
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "e2e: building the plugin: %v\n%s", err, out)
		return 1
	}
	cfgDir := filepath.Join(tmp, "config")
	cfg, _ := json.Marshal(map[string]any{"cliPluginsExtraDirs": []string{plugins}})
	if err := os.MkdirAll(cfgDir, 0o700); err == nil {
		err = os.WriteFile(filepath.Join(cfgDir, "config.json"), cfg, 0o600)
	}
	os.Setenv("DOCKER_CONFIG", cfgDir)
	for _, c := range []string{os.Getenv("CA_CERT"), os.Getenv("SSL_CERT_FILE")} {
		if c != "" {
			if _, err := os.Stat(c); err == nil {
				caCert = c
				break
			}
		}
	}
	code := m.Run()
	// The hostile-agent suite's count, after every test (its cases run in parallel with
	// others); each escape has failed its test already.
	if escapeAttempts.Load() > 0 {
		fmt.Printf("escape attempts: %d, escapes: %d\n", escapeAttempts.Load(), escapesGot.Load())
	}
	return code
}

// docker runs the docker CLI and returns its result.
func docker(args ...string) *icmd.Result {
	return icmd.RunCmd(icmd.Command("docker", args...))
}

func dockerIn(dir string, env []string, args ...string) *icmd.Result {
	cmd := icmd.Command("docker", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	return icmd.RunCmd(cmd)
}

// caFlags is --ca-cert FILE when this machine needs one.
func caFlags() []string {
	if caCert == "" {
		return nil
	}
	return []string{"--ca-cert", caCert}
}

// Each suite says first which engines of the matrix it needs, and why (the check is
// TestEverySuiteSaysWhichEnginesItNeeds): a run over several engines (hack/test-e2e.sh)
// sets MAGENTS_E2E_SUITES=engine on every pass but the newest engine's, where only the
// suites whose outcome is the engine's run.

// everyEngine marks a suite whose outcome is the engine's (its builder, confinement,
// networks, health checks, limits, Swarm): it runs on every engine of the matrix.
func everyEngine(t *testing.T, why string) {
	t.Helper()
	t.Logf("on every engine: %s", why)
}

// anyEngine marks a suite of docker-magents' own behaviour, which any engine shows as
// well as another: it runs on the newest engine of the matrix only.
func anyEngine(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("MAGENTS_E2E_SUITES") == "engine" {
		t.Skipf("on the newest engine of the matrix only (MAGENTS_E2E_SUITES=engine): %s", why)
	}
}

// parallelSuite marks a suite that may run alongside other parallel suites: its fleet has
// a project, containers and workspace of its own, and it changes nothing engine-wide (no
// engine restart, no swarm, no image other suites use). go test runs these after the
// serial suites, -parallel at a time (hack/test-e2e.sh: E2E_PARALLEL_TESTS, default 3).
func parallelSuite(t *testing.T) {
	t.Helper()
	t.Parallel()
}

var builtImages sync.Map // target → *buildResult

type buildResult struct {
	once sync.Once
	res  *icmd.Result
	took time.Duration
}

// ensureImage builds magents/claude-agent:TARGET once per test run with
// `docker magents build`, through the engine's embedded BuildKit, and shares it.
func ensureImage(t *testing.T, target string) {
	t.Helper()
	v, _ := builtImages.LoadOrStore(target, &buildResult{})
	b := v.(*buildResult)
	b.once.Do(func() {
		start := time.Now()
		args := append([]string{"magents", "build", "--target", target, "--progress", "plain"}, caFlags()...)
		b.res = docker(args...)
		b.took = time.Since(start)
	})
	if b.res.ExitCode != 0 {
		t.Fatalf("docker magents build --target %s failed (exit %d):\n%s", target, b.res.ExitCode, tail(b.res.Combined(), 60))
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// removeContainer is registered with t.Cleanup for containers a test starts.
func removeContainer(t *testing.T, name string) {
	t.Cleanup(func() { docker("rm", "-f", "-v", name) })
}

// waitHealth waits until the container's health status is want.
func waitHealth(t *testing.T, name, want string, timeout time.Duration) {
	t.Helper()
	waitFor(t, timeout, fmt.Sprintf("container %s to be %s", name, want), func() (bool, string) {
		res := docker("inspect", "-f", "{{json .State}}", name)
		var state struct {
			Status string
			Health struct{ Status string }
		}
		if err := json.Unmarshal([]byte(res.Stdout()), &state); err != nil {
			return false, res.Combined()
		}
		if state.Health.Status == want {
			return true, state.Health.Status
		}
		if state.Status == "exited" {
			t.Fatalf("container %s exited while waiting for %s:\n%s", name, want, docker("logs", name).Combined())
		}
		return false, fmt.Sprintf("health %q; state: %s", state.Health.Status, res.Stdout())
	})
}
