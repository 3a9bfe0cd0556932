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

// The pane commands find the session's pane, and a task is typed only once the prompt
// shows: here a shell script that prints the prompt after a delay and echoes its input.
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
	if err := typeTask(context.Background(), tm, "Enter C-c literally"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		out, _ := tm.run("capture-pane", "-p", "-t", tm.paneTarget())
		if strings.Contains(out, "got: Enter C-c literally") {
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
