//go:build e2e

package e2e

import (
	"os"
	"strings"
	"testing"

	"gotest.tools/v3/icmd"
)

// make test on a workstation with Docker of its own: with no record that the scripts
// installed this engine or started this dockerd (an empty MAGENTS_STATE), provisioning
// leaves the engine and its plugins as they are, and the engine is never restarted.
func TestWorkstationDockerIsLeftAlone(t *testing.T) {
	everyEngine(t, "the engine make test did not install is left alone")
	if os.Getenv("DOCKER_HOST") != "" {
		t.Skip("the provisioning scripts act on the machine's own engine; this pass drives a nested one (DOCKER_HOST)")
	}
	state := t.TempDir()
	pid := func() string { b, _ := os.ReadFile("/var/run/docker.pid"); return strings.TrimSpace(string(b)) }
	before := pid()
	script := func(name string, args ...string) *icmd.Result {
		cmd := icmd.Command("bash", append([]string{"../hack/" + name}, args...)...)
		cmd.Env = append(os.Environ(), "MAGENTS_STATE="+state)
		return icmd.RunCmd(cmd)
	}
	script("install-engine.sh").Assert(t, icmd.Expected{Err: "the machine's own: left as it is"})
	if res := script("build-tools.sh", "compose"); res.ExitCode != 0 || !strings.Contains(res.Stderr(), "kept ") {
		t.Errorf("build-tools.sh compose on a machine with its own compose: exit %d\n%s", res.ExitCode, res.Stderr())
	}
	script("restart-engine.sh").Assert(t, icmd.Expected{ExitCode: 3, Err: "was not started by these scripts: not restarting it"})
	if after := pid(); after != before {
		t.Errorf("dockerd changed from %s to %s", before, after)
	}
	docker("version").Assert(t, icmd.Success)
	if entries, _ := os.ReadDir(state); len(entries) > 0 {
		t.Errorf("the scripts recorded %d things as theirs on a machine they did not provision", len(entries))
	}
}
