package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// waitTook is how long w.wait(d) took, and what it returned.
func waitTook(w *waiter, d time.Duration) (time.Duration, bool) {
	start := time.Now()
	ok := w.wait(d)
	return time.Since(start), ok
}

// An idle agent's supervisor sleeps its whole timeout, far beyond pollInterval: nothing
// wakes it but a reason to look.
func TestWaiterSleepsThroughAnIdleSpan(t *testing.T) {
	t.Parallel()
	w := newWaiter(context.Background(), t.TempDir(), dirAppended)
	defer w.close()
	w.watchProcesses(paneProcess{PID: os.Getpid(), Start: processStart(os.Getpid())})
	if took, ok := waitTook(w, 3*pollInterval); !ok || took < 3*pollInterval-50*time.Millisecond {
		t.Fatalf("wait(%s) returned %v after %s", 3*pollInterval, ok, took)
	}
}

// A change in the run dir (a hook's report, a restart request) is a look at once; one
// made within minGap of the last look waits for the gap.
func TestWaiterLooksWhenTheRunDirChanges(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	w := newWaiter(context.Background(), dir, dirReplaced)
	defer w.close()
	time.AfterFunc(200*time.Millisecond, func() { _ = os.WriteFile(filepath.Join(dir, "restart-requested"), nil, 0o644) })
	if took, ok := waitTook(w, time.Minute); !ok || took > 5*time.Second {
		t.Fatalf("a new file in the run dir: wait returned %v after %s", ok, took)
	}
	_ = os.WriteFile(filepath.Join(dir, "agent-state.json"), []byte("{}"), 0o644)
	if took, _ := waitTook(w, time.Minute); took < w.minGap-100*time.Millisecond || took > 5*time.Second {
		t.Fatalf("a change right after a look: wait took %s, want about %s", took, w.minGap)
	}
}

// The activity file growing is a look for the relay's waiter, and not for the session's.
func TestWaiterAppendsWakeTheRelayOnly(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "activity.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	relay, session := newWaiter(context.Background(), dir, dirAppended), newWaiter(context.Background(), dir, dirReplaced)
	defer relay.close()
	defer session.close()
	time.AfterFunc(200*time.Millisecond, func() { _, _ = f.WriteString("a line\n") })
	done := make(chan time.Duration, 1)
	go func() { took, _ := waitTook(session, 2*time.Second); done <- took }()
	if took, _ := waitTook(relay, time.Minute); took > 5*time.Second {
		t.Fatalf("an append: the relay's wait took %s", took)
	}
	if took := <-done; took < 2*time.Second-50*time.Millisecond {
		t.Fatalf("an append woke the session's waiter after %s", took)
	}
}

// The agent's exit is a look at once (pidfd), not at the next poll.
func TestWaiterLooksWhenTheAgentExits(t *testing.T) {
	t.Parallel()
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	w := newWaiter(context.Background(), t.TempDir(), dirReplaced)
	defer w.close()
	pid := cmd.Process.Pid
	w.watchProcesses(paneProcess{PID: pid, Start: processStart(pid), Server: os.Getpid(), ServerStart: processStart(os.Getpid())})
	time.AfterFunc(200*time.Millisecond, func() { _ = cmd.Process.Kill() })
	if took, ok := waitTook(w, time.Minute); !ok || took > 5*time.Second {
		t.Fatalf("the agent exited: wait returned %v after %s", ok, took)
	}
}

// A process whose PID names another process by now is gone: it is not waited for.
func TestWaiterIgnoresAReusedPID(t *testing.T) {
	t.Parallel()
	w := newWaiter(context.Background(), t.TempDir(), dirReplaced)
	defer w.close()
	w.watchProcesses(paneProcess{PID: os.Getpid(), Start: processStart(os.Getpid()) + 1})
	if len(w.procs) != 0 {
		t.Fatalf("watching %d processes, want none", len(w.procs))
	}
}

// The end of ctx ends a wait at once.
func TestWaiterStopsWithItsContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	w := newWaiter(ctx, t.TempDir(), dirReplaced)
	defer w.close()
	time.AfterFunc(200*time.Millisecond, cancel)
	if took, ok := waitTook(w, time.Minute); ok || took > 5*time.Second {
		t.Fatalf("ctx ended: wait returned %v after %s", ok, took)
	}
	if ok := w.wait(time.Minute); ok {
		t.Fatal("a wait after ctx ended returned true")
	}
}

// Health as the status push makes it, at every heartbeat, leaves the run dir as it was:
// the proxy's answer is cached out of the waiters' sight, so the push does not wake the
// supervisor's other loop (nor its own again).
func TestHealthLeavesTheRunDirAlone(t *testing.T) {
	sock, _ := serveAgentSocket(t, newEgressProxy(nil, &strings.Builder{}), "agent-1", nil)
	t.Setenv("MAGENTS_EGRESS_SOCKET", sock)
	t.Setenv("TMUX_TMPDIR", t.TempDir())
	cfg := config{RunDir: t.TempDir(), Session: "claude", AgentCmd: "claude"}
	currentHealth(cfg) // the first makes the cache's directory
	cache := filepath.Join(cfg.RunDir, "cache", "egress-denials.json")
	before, err := os.Stat(cache)
	if err != nil {
		t.Fatalf("the proxy's answer was not cached: %v", err)
	}
	w := newWaiter(context.Background(), cfg.RunDir, dirAppended)
	defer w.close()
	cachedEgressDenials(cfg, os.Getenv, time.Now().Add(egressCacheTTL+time.Second)) // asked again
	if after, err := os.Stat(cache); err != nil || os.SameFile(before, after) {
		t.Fatalf("the proxy's answer was not cached again: %v", err)
	}
	if took, _ := waitTook(w, 1500*time.Millisecond); took < 1450*time.Millisecond {
		t.Fatalf("making the health report woke a waiter on the run dir after %s", took)
	}
}
