//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gotest.tools/v3/icmd"

	"github.com/docker-magents/docker-magents/images"
)

// build --push pushes to a registry with what the engine allows: on the graph-driver
// store the engine pushes what BuildKit exported; on the containerd store BuildKit pushes.
// The registry is Debian's docker-registry, in a container on the engine under test.
func TestBuildPushToRegistry(t *testing.T) {
	everyEngine(t, "the engine's push to a registry")
	parallelSuite(t)
	ensureImage(t, "latest")
	bin, err := os.ReadFile("/usr/bin/docker-registry")
	if err != nil {
		t.Fatalf("Debian's docker-registry is not installed (hack/install-engine.sh installs it): %v", err)
	}
	dir := t.TempDir()
	files := map[string]string{
		"Dockerfile": "FROM debian:bookworm-slim\nCOPY docker-registry /usr/bin/docker-registry\nCOPY config.yml /etc/docker/registry/config.yml\n" +
			"ENTRYPOINT [\"/usr/bin/docker-registry\", \"serve\", \"/etc/docker/registry/config.yml\"]\n",
		"config.yml": "version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: /var/lib/registry\nhttp:\n  addr: :5000\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "docker-registry"), bin, 0o755); err != nil {
		t.Fatal(err)
	}
	docker("build", "-q", "-t", "magents-e2e/registry", dir).Assert(t, icmd.Success)
	docker("rm", "-f", "magents-e2e-registry")
	docker("run", "-d", "--name", "magents-e2e-registry", "-p", "127.0.0.1::5000", "magents-e2e/registry").Assert(t, icmd.Success)
	t.Cleanup(func() { docker("rm", "-f", "magents-e2e-registry") })
	port := strings.TrimSpace(docker("inspect", "-f", `{{(index (index .NetworkSettings.Ports "5000/tcp") 0).HostPort}}`, "magents-e2e-registry").Stdout())
	ref := fmt.Sprintf("127.0.0.1:%s/team/claude-agent:e2e", port)
	t.Cleanup(func() { docker("rmi", ref) })

	docker("magents", "build", "--push").Assert(t, icmd.Expected{ExitCode: 1, Err: "--push needs --tag"})
	res := docker(append([]string{"magents", "build", "--push", "--tag", ref, "--progress", "plain"}, caFlags()...)...)
	res.Assert(t, icmd.Success)
	switch {
	case strings.Contains(res.Stderr(), "pushing layers"):
		t.Log("BuildKit pushed the image (containerd image store)")
	case strings.Contains(res.Stderr(), "push "+ref+":"):
		t.Log("the engine pushed what BuildKit exported (graph-driver image store)")
	default:
		t.Errorf("no sign of a push in the build's output:\n%s", res.Stderr())
	}
	want := strings.TrimSpace(docker("image", "inspect", "-f", `{{index .Config.Labels "`+images.ClaudeVersionLabel+`"}}`, ref).Stdout())
	docker("rmi", ref).Assert(t, icmd.Success)
	docker("pull", ref).Assert(t, icmd.Success)
	docker("image", "inspect", "-f", `{{index .Config.Labels "`+images.ClaudeVersionLabel+`"}}`, ref).Assert(t, icmd.Expected{Out: want})
	if want != claudeVersion {
		t.Errorf("the pulled image says Claude Code %q", want)
	}
}
