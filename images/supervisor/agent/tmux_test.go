package agent

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The pane commands find the session's pane, and a task is typed only once the prompt
// shows: here a shell script that prints the prompt after a delay and echoes its input.
// A task is typed verbatim: key names are text, and a leading "-" is no tmux option.
func TestTypeTaskWaitsForThePrompt(t *testing.T) {
	needTmux(t)
	dir := t.TempDir()
	t.Setenv("TMUX_TMPDIR", dir)
	t.Setenv("TMUX", "")
	script := filepath.Join(dir, "fake-prompt.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nsleep 1\nprintf '❯ '\nread line\necho \"got: $line\"\nsleep 30\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tm := tmux{session: "claude"}
	if err := tm.newSession(dir, script); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = exec.Command("tmux", "kill-server").Run() })
	if err := typeTask(context.Background(), Config{AgentCmd: script}, tm, "-t x Enter C-c literally"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, _ := tm.run("capture-pane", "-p", "-t", tm.paneTarget())
		if strings.Contains(out, "got: -t x Enter C-c literally") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pane:\n%s", out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err := waitReady(context.Background(), tmux{session: "nosuch"}, time.Second); err == nil {
		t.Error("ready without a session")
	}
}

// TestTypeTaskWaitsUntilClaudeTakesIt: with Claude as the agent, the task command returns
// only after Claude's UserPromptSubmit hook has reported the prompt taken.
func TestTypeTaskWaitsUntilClaudeTakesIt(t *testing.T) {
	needTmux(t)
	dir := t.TempDir()
	t.Setenv("TMUX_TMPDIR", dir)
	t.Setenv("TMUX", "")
	cfg := Config{AgentCmd: "claude", RunDir: dir}
	// Stands in for Claude's prompt only: the hook state it writes 2 s after the Enter is
	// what Claude's UserPromptSubmit hook (magents-supervisor hook) records.
	script := filepath.Join(dir, "prompt.sh")
	body := "#!/bin/sh\nprintf '❯ '\nread line\nsleep 2\n" +
		"printf '{\"state\":\"working\",\"since\":\"%s\",\"event\":\"UserPromptSubmit\"}' \"$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)\" > " + hookStateFile(cfg) + "\nsleep 30\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	tm := tmux{session: "claude"}
	if err := tm.newSession(dir, script); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = exec.Command("tmux", "kill-server").Run() })
	if err := typeTask(context.Background(), cfg, tm, "go"); err != nil {
		t.Fatal(err)
	}
	if st, ok := readHookState(cfg); !ok || st.Event != "UserPromptSubmit" {
		t.Fatalf("typeTask returned before the prompt was taken: %+v %v", st, ok)
	}
}

func TestStartTask(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "2"), []byte("Write tests\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"TASK": " Fix it ", "MAGENTS_TASKS_DIR": dir, "AGENT_ID": "2"}, "Fix it"},
		{map[string]string{"MAGENTS_TASKS_DIR": dir, "AGENT_ID": "2"}, "Write tests"},
		{map[string]string{"MAGENTS_TASKS_DIR": dir, "AGENT_ID": "1"}, ""},
		{map[string]string{"MAGENTS_TASKS_DIR": dir, "AGENT_ID": "../2"}, ""},
		{map[string]string{}, ""},
	} {
		if got := startTask(func(k string) string { return tc.env[k] }); got != tc.want {
			t.Errorf("startTask(%v) = %q, want %q", tc.env, got, tc.want)
		}
	}
}

// The session watch follows the pane's process without a tmux client while it runs, and
// sees the session end (and a new one) when it does; health agrees without asking tmux.
func TestSessionWatch(t *testing.T) {
	needTmux(t)
	dir := t.TempDir()
	t.Setenv("TMUX_TMPDIR", dir)
	t.Setenv("TMUX", "")
	tm := tmux{session: "claude"}
	var seen []paneProcess
	w := &sessionWatch{t: tm, onPane: func(p paneProcess) { seen = append(seen, p) }}
	if w.alive() {
		t.Fatal("alive before any session")
	}
	if err := tm.newSession(dir, "sleep", "30"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = exec.Command("tmux", "kill-server").Run() })
	if !w.alive() || len(seen) != 1 || seen[0].PID <= 0 || seen[0].Start == 0 || seen[0].Server <= 0 || seen[0].ServerStart == 0 {
		t.Fatalf("alive with a session: pane %+v", seen)
	}
	first := seen[0]
	if processStart(first.PID) != first.Start || !first.alive() {
		t.Fatalf("pane %+v: start %d", first, processStart(first.PID))
	}
	// While the pane's process runs, tmux is not asked: a watch whose tmux names another
	// session still sees it alive.
	blind := &sessionWatch{t: tmux{session: "nosuch"}, p: first}
	if !blind.alive() {
		t.Error("the watch asked tmux although the pane's process runs")
	}
	tm.killSession()
	deadline := time.Now().Add(5 * time.Second)
	for w.alive() {
		if time.Now().After(deadline) {
			t.Fatal("still alive after kill-session")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if first.alive() || len(seen) != 2 || seen[1] != (paneProcess{}) {
		t.Fatalf("after the session ended: %+v", seen)
	}
	// A process with another start time under the same PID is not the pane's, nor its
	// server's; and a pane whose server is gone is no session.
	self := selfPane()
	for _, p := range []paneProcess{{PID: self.PID, Start: self.Start + 1, Server: self.Server, ServerStart: self.ServerStart},
		{PID: self.PID, Start: self.Start, Server: self.Server, ServerStart: self.ServerStart + 1}, {PID: self.PID, Start: self.Start}} {
		if p.alive() {
			t.Errorf("alive: %+v", p)
		}
	}
	if !self.alive() {
		t.Errorf("not alive: %+v", self)
	}
}

// Health takes the pane's process the supervisor recorded for the session while it runs,
// and asks tmux only once it is gone.
func TestHealthFromThePaneProcess(t *testing.T) {
	needTmux(t)
	dir := t.TempDir()
	t.Setenv("TMUX_TMPDIR", dir) // a tmux with no session
	t.Setenv("TMUX", "")
	cfg := Config{RunDir: dir, Session: "claude", AgentCmd: "bash"}
	st := newStatusFile(cfg)
	self := selfPane()
	st.update(func(s *status) { s.StartedAt, s.SessionAt, s.Pane = time.Now(), time.Now(), self })
	if h := currentHealth(cfg); !h.SessionAlive || !h.AgentAlive || h.AgentPID != self.PID || !h.Healthy() {
		t.Errorf("with the pane's process running: %+v", h)
	}
	st.update(func(s *status) { s.Pane.Start++ }) // gone: another process under its PID
	if h := currentHealth(cfg); h.SessionAlive || h.Healthy() {
		t.Errorf("with the pane's process gone and no session: %+v", h)
	}
}

// selfPane names this test process as a pane and its parent as the server.
func selfPane() paneProcess {
	return paneProcess{PID: os.Getpid(), Start: processStart(os.Getpid()), Server: os.Getppid(), ServerStart: processStart(os.Getppid())}
}

// A process that exited but is not reaped yet does not run.
func TestRunsNotAZombie(t *testing.T) {
	cmd := exec.Command("sleep", "0.1")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid, start := cmd.Process.Pid, processStart(cmd.Process.Pid)
	if !runs(pid, start) {
		t.Fatal("a running child does not run")
	}
	time.Sleep(500 * time.Millisecond) // exited; not reaped until Wait
	if runs(pid, start) {
		t.Error("an exited, unreaped child runs")
	}
	_ = cmd.Wait()
}
