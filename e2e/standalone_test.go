//go:build e2e

package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/icmd"

	"github.com/docker-magents/docker-magents/images"
)

// startBuildkitd runs a standalone buildkitd (built from the Go module proxy by
// hack/build-tools.sh, using Debian's runc) and returns its address. Its state lives in
// the tool cache, so a warm machine keeps its build cache.
func startBuildkitd(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("buildkitd")
	if err != nil {
		t.Fatal("buildkitd is not installed: run hack/build-tools.sh buildkitd")
	}
	root := filepath.Join(cacheDir(), "buildkitd-e2e")
	if err := os.MkdirAll(root, 0o700); err != nil {
		root = t.TempDir()
	}
	sockDir, err := os.MkdirTemp("", "bk")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	sock := filepath.Join(sockDir, "buildkitd.sock")
	logf, err := os.Create(filepath.Join(sockDir, "buildkitd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--root", root, "--addr", "unix://"+sock, "--containerd-worker=false", "--oci-worker=true")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
		}
		logf.Close()
	})
	waitFor(t, 30*time.Second, "buildkitd to listen on "+sock, func() (bool, string) {
		c, err := net.Dial("unix", sock)
		if err == nil {
			c.Close()
			return true, ""
		}
		b, _ := os.ReadFile(logf.Name())
		return false, fmt.Sprintf("%v; buildkitd's log:\n%s", err, b)
	})
	return "unix://" + sock
}

func cacheDir() string {
	if d := os.Getenv("MAGENTS_CACHE"); d != "" {
		return d
	}
	return "/var/cache/docker-magents"
}

// `latest` once more through a standalone buildkitd, named as a buildx builder (`docker
// buildx create --driver remote`): the result is exported as a docker tarball and loaded
// into the engine, and the base images come from the engine's store (this machine has no
// registry), handed over as OCI layouts. The builder `docker buildx use` selected is the
// default, as in buildx.
func TestStandaloneBuildkitd(t *testing.T) {
	anyEngine(t, "a standalone buildkitd, not the engine's")
	parallelSuite(t)
	ensureImage(t, "latest")
	addr := startBuildkitd(t)
	// buildx's store in a Docker config of this test's own: docker buildx use below must
	// not change the builder of the suites alongside.
	cfg := privateDockerConfig(t)
	dockerCfg := func(args ...string) *icmd.Result { return dockerIn("", []string{"DOCKER_CONFIG=" + cfg}, args...) }
	dockerCfg("buildx", "create", "--name", "magents-e2e", "--driver", "remote", addr).Assert(t, icmd.Success)

	tag := fmt.Sprintf("magents-e2e/standalone:%d", time.Now().UnixNano())
	t.Cleanup(func() { docker("rmi", "-f", tag) })
	res := dockerCfg(append([]string{"magents", "build", "--builder", "magents-e2e", "--tag", tag, "--progress", "plain"}, caFlags()...)...)
	res.Assert(t, icmd.Success)
	for _, want := range []string{"OCI load from client", "sending tarball", "builder magents-e2e"} {
		if !strings.Contains(res.Stderr(), want) {
			t.Errorf("standalone build output lacks %q:\n%s", want, tail(res.Stderr(), 30))
		}
	}
	docker("run", "--rm", tag, "claude", "--version").Assert(t, icmd.Expected{Out: claudeVersion})
	sameConfig(t, tag, images.Repository+":latest")

	// A builder that is not there is a clear error, not a hang: given by its address, or
	// selected with docker buildx use.
	docker("magents", "build", "--builder", "unix:///nonexistent/buildkitd.sock").
		Assert(t, icmd.Expected{ExitCode: 1, Err: "cannot reach BuildKit at unix:///nonexistent/buildkitd.sock"})
	dockerCfg("buildx", "create", "--name", "magents-e2e-gone", "--driver", "remote", "unix:///nonexistent/buildkitd.sock").Assert(t, icmd.Success)
	dockerCfg("buildx", "use", "magents-e2e-gone").Assert(t, icmd.Success)
	dockerCfg("magents", "build").Assert(t, icmd.Expected{ExitCode: 1, Err: "cannot reach BuildKit of builder magents-e2e-gone at unix:///nonexistent/buildkitd.sock"})
	dockerCfg("magents", "build", "--builder", "no-such-builder").Assert(t, icmd.Expected{ExitCode: 1, Err: `no builder "no-such-builder"`})
}

// privateDockerConfig is a Docker config dir of the test's own that finds the plugin under
// test as the suite's does.
func privateDockerConfig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	base, err := os.ReadFile(filepath.Join(os.Getenv("DOCKER_CONFIG"), "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "config.json"), base, 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}
