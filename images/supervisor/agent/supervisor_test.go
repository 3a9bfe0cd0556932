package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/docker-magents/docker-magents/images/supervisor/agentstate"
)

// TestSuperviseRealTmux runs the built supervisor against the host's tmux: the session
// comes up healthy, a killed tmux server makes it unhealthy until the supervisor starts
// the session again, and SIGTERM stops everything with exit 0.
func TestSuperviseRealTmux(t *testing.T) {
	needTmux(t)
	dir := t.TempDir()
	bin := buildSupervisor(t, dir)
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
	sup, logs := startSupervisor(t, bin, env)
	healthy := func() (healthReport, bool) { return healthOf(bin, env) }
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

	server := exec.Command("tmux", "display-message", "-p", "#{pid}")
	server.Env = env
	out, err := server.Output()
	serverPID, _ := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil || serverPID <= 0 {
		t.Fatalf("the tmux server's pid: %q %v", out, err)
	}
	serverStart := processStart(serverPID)
	kill := exec.Command("tmux", "kill-server")
	kill.Env = env
	if out, err := kill.CombinedOutput(); err != nil {
		t.Fatalf("tmux kill-server: %v %s", err, out)
	}
	// kill-server returns before the server has exited: health is asked once it has.
	waitFor(t, 5*time.Second, "the tmux server's exit", func() bool { return !runs(serverPID, serverStart) })
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

// A refused credential turns the state to auth-rejected; a restart request (what auth
// rotate sends) starts Claude again at once with the new credential and clears it.
func TestAuthRejectedAndRestartRequest(t *testing.T) {
	needTmux(t)
	var accept atomic.Bool
	var lastKey atomic.Value
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lastKey.Store(r.Header.Get("x-api-key"))
		if r.URL.Path == "/v1/models" && !accept.Load() {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}`)
			return
		}
		fmt.Fprint(w, `{"data":[]}`)
	}))
	defer api.Close()
	dir := t.TempDir()
	bin := buildSupervisor(t, dir)
	keyFile := filepath.Join(dir, "key")
	if err := os.WriteFile(keyFile, []byte("sk-ant-api03-old"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(),
		"TMUX_TMPDIR="+filepath.Join(dir, "run"), "MAGENTS_RUN_DIR="+filepath.Join(dir, "run"),
		"CLAUDE_CONFIG_DIR="+filepath.Join(dir, "claude"), "MAGENTS_AUTH_DIR="+filepath.Join(dir, "no-auth"),
		"MAGENTS_WORKSPACE="+dir, "MAGENTS_AGENT_CMD=sleep 600", "MAGENTS_RESTART_BACKOFF=30s",
		"MAGENTS_AUTH_CHECK=1", "ANTHROPIC_BASE_URL="+api.URL, "ANTHROPIC_API_KEY_FILE="+keyFile, "TMUX=",
	)
	if err := os.MkdirAll(filepath.Join(dir, "run"), 0o700); err != nil {
		t.Fatal(err)
	}
	startSupervisor(t, bin, env)
	report := func() healthReport { h, _ := healthOf(bin, env); return h }
	waitFor(t, 10*time.Second, "auth-rejected", func() bool { return report().State == "auth-rejected" })
	if got, _ := lastKey.Load().(string); got != "sk-ant-api03-old" {
		t.Errorf("the check sent %q", got)
	}

	// Rotate: a new key in the file, the API now takes it, a restart request.
	if err := os.WriteFile(keyFile, []byte("sk-ant-api03-new"), 0o600); err != nil {
		t.Fatal(err)
	}
	accept.Store(true)
	restart := exec.Command(bin, "restart")
	restart.Env = env
	if out, err := restart.CombinedOutput(); err != nil {
		t.Fatalf("restart: %v %s", err, out)
	}
	// Despite the 30s backoff, the session is back at once and the state is clear.
	waitFor(t, 8*time.Second, "idle again", func() bool { h := report(); return h.State == "idle" && h.Restarts == 1 })
	if got, _ := lastKey.Load().(string); got != "sk-ant-api03-new" {
		t.Errorf("after the restart the check sent %q", got)
	}
	info := exec.Command(bin, "auth")
	info.Env = env
	out, err := info.Output()
	if err != nil || !strings.Contains(string(out), `"fingerprint":"sha256:`) || strings.Contains(string(out), "sk-ant-api03-new") {
		t.Errorf("auth info: %s %v", out, err)
	}
}

// buildSupervisor builds the supervisor's command (the package above this one) into dir.
func buildSupervisor(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "magents-supervisor")
	if out, err := exec.Command("go", "build", "-o", bin, "..").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startSupervisor runs the supervisor with env; the test's end kills it and its tmux server.
func startSupervisor(t *testing.T, bin string, env []string) (*exec.Cmd, *strings.Builder) {
	t.Helper()
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
	return sup, logs
}

// healthOf runs `magents-supervisor health`: the report, and whether it passed.
func healthOf(bin string, env []string) (healthReport, bool) {
	cmd := exec.Command(bin, "health")
	cmd.Env = env
	out, err := cmd.Output()
	var h healthReport
	_ = json.Unmarshal(out, &h)
	return h, err == nil
}

// needTmux skips without tmux, unless make test provisioned the machine
// (MAGENTS_REQUIRE_TOOLS=1): then it is a failure.
func needTmux(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("tmux"); err != nil {
		if os.Getenv("MAGENTS_REQUIRE_TOOLS") == "1" {
			t.Fatal("tmux is not installed: run hack/provision.sh")
		}
		t.Skip("tmux is not installed on this host (apt-get install tmux)")
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

// A headless agent started without a task waits for one: healthy and idle, saying so; the
// first task given is taken, a second refused; a finished agent refuses more.
func TestHeadlessWaitsForATask(t *testing.T) {
	cfg := Config{RunDir: t.TempDir(), ClaudeConfigDir: t.TempDir()}
	if err := os.MkdirAll(resultDir(cfg), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := queueTask(cfg, "too early"); err == nil {
		t.Error("a task was queued for an agent that waits for none")
	}
	got := make(chan string, 1)
	go func() { got <- waitForTask(cfg) }()
	deadline := time.Now().Add(5 * time.Second)
	for !fileExists(waitingMarker(cfg)) {
		if time.Now().After(deadline) {
			t.Fatal("the agent does not say it waits")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := queueTask(cfg, "summarize the repository"); err != nil {
		t.Fatal(err)
	}
	if err := queueTask(cfg, "and another"); err == nil || !strings.Contains(err.Error(), "runs one task") {
		t.Errorf("a second task: %v", err)
	}
	select {
	case task := <-got:
		if task != "summarize the repository" {
			t.Errorf("took %q", task)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the queued task was not taken")
	}
	if fileExists(waitingMarker(cfg)) || fileExists(queuedTask(cfg)) {
		t.Error("the agent still says it waits, or the task is still queued")
	}
	b, _ := json.Marshal(Result{Task: "summarize the repository", FinishedAt: time.Now()})
	if err := os.WriteFile(resultFile(cfg), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := queueTask(cfg, "more"); err == nil || !strings.Contains(err.Error(), "finished") {
		t.Errorf("a task for a finished agent: %v", err)
	}
}

// The screen is read every time while Claude starts or works, once after it changed state,
// then only every idleScanInterval.
func TestScanDue(t *testing.T) {
	now := time.Now()
	last := now.Add(-2 * time.Second)
	for _, c := range []struct {
		name   string
		hs     hookState
		hooked bool
		last   time.Time
		want   bool
	}{
		{"no hook yet", hookState{}, false, last, true},
		{"working", hookState{State: agentstate.Working, Since: now.Add(-time.Hour)}, true, last, true},
		{"working, read a second ago", hookState{State: agentstate.Working, Since: now.Add(-time.Hour)}, true, now.Add(-time.Second), false},
		{"idle since after the last read", hookState{State: agentstate.Idle, Since: now.Add(-time.Second)}, true, last, true},
		{"idle, read since", hookState{State: agentstate.Idle, Since: now.Add(-time.Hour)}, true, last, false},
		{"waiting, read since", hookState{State: agentstate.Waiting, Since: now.Add(-time.Hour)}, true, last, false},
		{"idle, last read long ago", hookState{State: agentstate.Idle, Since: now.Add(-time.Hour)}, true, now.Add(-idleScanInterval), true},
	} {
		if got := scanDue(c.hs, c.hooked, c.last, now); got != c.want {
			t.Errorf("%s: scan due %v, want %v", c.name, got, c.want)
		}
	}
}
