package agent

import (
	"context"
	"os"
	"os/exec"
	"strconv"
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
	w := newWaiter(context.Background())
	defer w.close()
	w.watchProcesses(paneProcess{PID: os.Getpid(), Start: processStart(os.Getpid())})
	if took, ok := waitTook(w, 3*pollInterval); !ok || took < 3*pollInterval-50*time.Millisecond {
		t.Fatalf("wait(%s) returned %v after %s", 3*pollInterval, ok, took)
	}
}

// A kick (a hook reported, a restart is asked for) is a look at once; one made within
// minGap of the last look waits for the gap.
func TestWaiterLooksWhenKicked(t *testing.T) {
	w := newWaiter(context.Background())
	defer w.close()
	time.AfterFunc(200*time.Millisecond, kickWaiters)
	if took, ok := waitTook(w, time.Minute); !ok || took > 5*time.Second {
		t.Fatalf("kicked: wait returned %v after %s", ok, took)
	}
	kickWaiters()
	if took, _ := waitTook(w, time.Minute); took < w.minGap-100*time.Millisecond || took > 5*time.Second {
		t.Fatalf("kicked right after a look: wait took %s, want about %s", took, w.minGap)
	}
}

// The hooks and restart run in processes of their own: they kick the supervisor named in
// the run dir with SIGUSR1, which its waiters take as a kick.
func TestKickAcrossProcesses(t *testing.T) {
	cfg := Config{RunDir: t.TempDir()}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := listenForKicks(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	w := newWaiter(ctx)
	defer w.close()
	pid := strings.TrimSpace(readFileString(t, supervisorPIDFile(cfg)))
	if pid != strconv.Itoa(os.Getpid()) {
		t.Fatalf("the run dir names %q as the supervisor, not this process", pid)
	}
	time.AfterFunc(200*time.Millisecond, func() { _ = exec.Command("kill", "-USR1", pid).Run() })
	if took, ok := waitTook(w, time.Minute); !ok || took > 5*time.Second {
		t.Fatalf("SIGUSR1: wait returned %v after %s", ok, took)
	}
}

// A PID file that names another program (the supervisor's PID reused, or an agent's
// doing) is not kicked: SIGUSR1 would end it.
func TestKickOnlyTheSupervisor(t *testing.T) {
	cfg := Config{RunDir: t.TempDir()}
	other := exec.Command("sleep", "60")
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = other.Process.Kill(); _ = other.Wait() }()
	if err := os.WriteFile(supervisorPIDFile(cfg), []byte(strconv.Itoa(other.Process.Pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	kick(cfg)
	time.Sleep(200 * time.Millisecond)
	if !runs(other.Process.Pid, processStart(other.Process.Pid)) {
		t.Fatal("kick signalled a program that is not the supervisor")
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
	w := newWaiter(context.Background())
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
	w := newWaiter(context.Background())
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
	w := newWaiter(ctx)
	defer w.close()
	time.AfterFunc(200*time.Millisecond, cancel)
	if took, ok := waitTook(w, time.Minute); ok || took > 5*time.Second {
		t.Fatalf("ctx ended: wait returned %v after %s", ok, took)
	}
	if ok := w.wait(time.Minute); ok {
		t.Fatal("a wait after ctx ended returned true")
	}
}

func readFileString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
