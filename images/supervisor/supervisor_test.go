package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestSuperviseRealTmux runs the built supervisor against the host's tmux: the session
// comes up healthy, a killed tmux server makes it unhealthy until the supervisor starts
// the session again, and SIGTERM stops everything with exit 0.
func TestSuperviseRealTmux(t *testing.T) {
	if _, err := exec.LookPath("tmux"); err != nil {
		t.Skip("tmux is not installed on this host (apt-get install tmux)")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "magents-supervisor")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	port := freePort(t)
	env := append(os.Environ(),
		"TMUX_TMPDIR="+filepath.Join(dir, "run"),
		"MAGENTS_RUN_DIR="+filepath.Join(dir, "run"),
		"CLAUDE_CONFIG_DIR="+filepath.Join(dir, "claude"),
		"MAGENTS_AUTH_DIR="+filepath.Join(dir, "no-auth"),
		"MAGENTS_WORKSPACE="+dir,
		"MAGENTS_AGENT_CMD=sleep 600",
		"MAGENTS_RESTART_BACKOFF=1s",
		"MAGENTS_STOP_TIMEOUT=2s",
		"MAGENTS_HEALTH_ADDR="+fmt.Sprintf("127.0.0.1:%d", port),
		"ANTHROPIC_API_KEY=sk-ant-api03-not-a-real-key-0000000000",
		"TMUX=",
	)
	if err := os.MkdirAll(filepath.Join(dir, "run"), 0o700); err != nil {
		t.Fatal(err)
	}
	sup := exec.Command(bin)
	sup.Env = env
	logs := &strings.Builder{}
	sup.Stdout, sup.Stderr = logs, logs
	if err := sup.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = sup.Process.Kill()
		tm := exec.Command("tmux", "kill-server")
		tm.Env = env
		_ = tm.Run()
	})

	healthy := func() (healthReport, bool) {
		cmd := exec.Command(bin, "health")
		cmd.Env = env
		out, err := cmd.Output()
		var h healthReport
		_ = json.Unmarshal(out, &h)
		return h, err == nil
	}
	waitFor(t, 10*time.Second, "healthy", func() bool { _, ok := healthy(); return ok })
	h, _ := healthy()
	if h.Auth != "api-key" || h.AgentPID == 0 {
		t.Errorf("health = %+v, want auth api-key and an agent pid", h)
	}
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", port))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz: %v %v", resp, err)
	}
	resp.Body.Close()

	// The agent's environment got the key; the tmux server's did not.
	environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", h.AgentPID))
	if err != nil || !strings.Contains(string(environ), "ANTHROPIC_API_KEY=sk-ant-api03-not-a-real-key") {
		t.Errorf("agent environment lacks the key (%v)", err)
	}

	kill := exec.Command("tmux", "kill-server")
	kill.Env = env
	if out, err := kill.CombinedOutput(); err != nil {
		t.Fatalf("tmux kill-server: %v %s", err, out)
	}
	if _, ok := healthy(); ok {
		t.Fatal("still healthy right after the tmux server was killed")
	}
	resp, err = http.Get(fmt.Sprintf("http://127.0.0.1:%d/readyz", port))
	if err == nil {
		if resp.StatusCode != http.StatusServiceUnavailable {
			t.Errorf("/readyz with no session = %d, want 503", resp.StatusCode)
		}
		resp.Body.Close()
	}
	waitFor(t, 10*time.Second, "healthy again", func() bool { _, ok := healthy(); return ok })
	if h, _ := healthy(); h.Restarts != 1 {
		t.Errorf("restarts = %d, want 1", h.Restarts)
	}

	if err := sup.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- sup.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("supervisor exited with %v after SIGTERM\n%s", err, logs)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("supervisor did not exit on SIGTERM\n%s", logs)
	}
	if _, ok := healthy(); ok {
		t.Error("session still running after the supervisor stopped")
	}
}

func waitFor(t *testing.T, d time.Duration, what string, ok func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for !ok() {
		if ctx.Err() != nil {
			t.Fatalf("not %s after %s", what, d)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
