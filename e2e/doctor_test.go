//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/icmd"

	"github.com/docker-magents/docker-magents/images"
)

// doctor passes on a healthy fleet, checking each agent from inside, and fails, naming
// the cause and the fix, when the image is missing.
func TestDoctor(t *testing.T) {
	anyEngine(t, "doctor's checks are docker-magents' own")
	parallelSuite(t)
	e := newFleetEnv(t, "doctor")
	e.initRepo()
	tag := images.Repository + ":doctor-e2e"
	docker("tag", images.Repository+":latest", tag).Assert(t, icmd.Success)
	t.Cleanup(func() { docker("rmi", tag) })
	mg := func(args ...string) *icmd.Result { return e.magents(append([]string{"-p", "doctore2e"}, args...)...) }
	t.Cleanup(func() { mg("down", "--volumes") })

	// Before up: the shared checks run, and the missing fleet is said.
	mg("doctor").Assert(t, icmd.Expected{Out: "start one: docker magents up"})
	mg("doctor", "agent-1").Assert(t, icmd.Expected{ExitCode: 1, Err: "no fleet"})

	mg("up", "--image", tag, "--isolation", "worktree").Assert(t, icmd.Success)
	mg("wait", "--timeout", "60s").Assert(t, icmd.Success)
	res := mg("doctor")
	res.Assert(t, icmd.Success)
	for _, want := range []string{"[ok]   engine", "[ok]   buildkit", "[ok]   compose", "Claude Code 2.1.332", "[ok]   auth",
		"agent-1", "[ok]   claude       2.1.332 (Claude Code)", "[ok]   tmux", "[ok]   config dir", "[ok]   workspace",
		"[ok]   credential   gateway", "[ok]   model-gateway the agents reach the model through the fleet's gateway", "[ok]   worktree     ./.magents/worktrees/agent-1 on magents/agent-1: clean"} {
		if !strings.Contains(res.Stdout(), want) {
			t.Errorf("doctor lacks %q:\n%s", want, res.Stdout())
		}
	}
	var report struct {
		OK     bool
		Checks []struct{ Scope, Name, Status, Detail, Fix string }
	}
	res = mg("doctor", "--format", "json", "agent-1")
	res.Assert(t, icmd.Success)
	if err := json.Unmarshal([]byte(res.Stdout()), &report); err != nil || !report.OK || len(report.Checks) < 10 {
		t.Fatalf("doctor --format json: %v\n%s", err, res.Stdout())
	}

	// ps --watch refreshes until interrupted, and an interrupt is the normal way out.
	watch := exec.Command("docker", "magents", "-p", "doctore2e", "ps", "--watch", "--interval", "200ms")
	watch.Dir = e.dir
	out := &syncBuffer{}
	watch.Stdout = out
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = watch.Process.Kill() }) // if the wait below fails
	exited := make(chan error, 1)
	go func() { exited <- watch.Wait() }()
	// It is interrupted once it has printed two refreshes — unless it has ended by itself
	// before (what it printed and how it ended are judged below).
	var (
		ended bool
		err   error
	)
	waitFor(t, 30*time.Second, "ps --watch to print two refreshes", func() (bool, string) {
		if strings.Count(out.String(), "AGENT") >= 2 {
			return true, out.String()
		}
		select {
		case err = <-exited:
			ended = true
			return true, out.String()
		default:
			return false, out.String()
		}
	})
	if !ended {
		_ = watch.Process.Signal(os.Interrupt)
		err = <-exited
	}
	if err != nil {
		t.Errorf("ps --watch interrupted: %v", err)
	}
	if n := strings.Count(out.String(), "AGENT"); n < 2 || !strings.Contains(out.String(), "doctore2e-agent-1") {
		t.Errorf("ps --watch printed %d refreshes:\n%s", n, out.String())
	}

	// The image goes (the running agent keeps its copy): doctor fails and says what to do.
	docker("rmi", tag).Assert(t, icmd.Success)
	res = mg("doctor")
	res.Assert(t, icmd.Expected{ExitCode: 1, Out: "[FAIL] image        " + tag + " is not in the engine's image store"})
	if !strings.Contains(res.Stdout(), "→ build it: docker magents build") {
		t.Errorf("doctor does not say how to get the image:\n%s", res.Stdout())
	}
	res = mg("doctor", "--format", "json")
	res.Assert(t, icmd.Expected{ExitCode: 1})
	if err := json.Unmarshal([]byte(res.Stdout()), &report); err != nil || report.OK {
		t.Fatalf("doctor --format json with the image gone: %v\n%s", err, res.Stdout())
	}
}
