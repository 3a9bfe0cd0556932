package agent

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker-magents/docker-magents/images/supervisor/agentenv"
)

// The project's commands run in the workspace, in order, once per container but
// postStart once per supervisor start; a failure stops those after it and is kept for
// health and doctor.
func TestLifecycle(t *testing.T) {
	ws, run := t.TempDir(), t.TempDir()
	t.Setenv("HOME", t.TempDir())
	cfg := Config{RunDir: run, Workspace: ws}
	t.Setenv(agentenv.ProjectCommands, `{"onCreateCommand": "echo create >> order",
		"updateContentCommand": ["sh", "-c", "echo update >> order"],
		"postCreateCommand": {"a": "echo a > a", "b": ["touch", "b"]},
		"postStartCommand": "echo start >> order"}`)
	started := func(at time.Time) {
		b, _ := json.Marshal(status{StartedAt: at})
		os.WriteFile(filepath.Join(run, "supervisor.json"), b, 0o644)
	}
	started(time.Unix(100, 0))
	var screen bytes.Buffer
	runLifecycle(cfg, &screen)
	runLifecycle(cfg, &screen) // the session's restart: nothing is due
	order, _ := os.ReadFile(filepath.Join(ws, "order"))
	if string(order) != "create\nupdate\nstart\n" {
		t.Errorf("ran %q", order)
	}
	for _, f := range []string{"a", "b"} {
		if _, err := os.Stat(filepath.Join(ws, f)); err != nil {
			t.Errorf("the parallel command %s did not run: %v", f, err)
		}
	}
	if !strings.Contains(screen.String(), "── postCreateCommand ──\r\n") {
		t.Errorf("the session showed %q", screen.String())
	}
	started(time.Unix(200, 0)) // the supervisor started again: postStart again
	runLifecycle(cfg, &screen)
	if order, _ := os.ReadFile(filepath.Join(ws, "order")); string(order) != "create\nupdate\nstart\nstart\n" {
		t.Errorf("after a new start, ran %q", order)
	}
	if _, failed := LifecycleFailure(cfg); failed {
		t.Error("a failure recorded for commands that succeeded")
	}

	// A new container whose postCreateCommand fails: postStart does not run, and the
	// failure says which, its code and its last lines.
	t.Setenv("HOME", t.TempDir())
	os.Remove(filepath.Join(run, startedMarker))
	t.Setenv(agentenv.ProjectCommands, `{"postCreateCommand": "echo installing; echo no such package >&2; exit 3", "postStartCommand": "touch started"}`)
	runLifecycle(cfg, &screen)
	f, failed := LifecycleFailure(cfg)
	if !failed || f.Command != "postCreateCommand" || f.ExitCode != 3 || !strings.Contains(f.Output, "no such package") {
		t.Errorf("the failure: %+v %v", f, failed)
	}
	if _, err := os.Stat(filepath.Join(ws, "started")); err == nil {
		t.Error("postStartCommand ran after postCreateCommand failed")
	}
	if h := healthWith(cfg, false); !strings.Contains(strings.Join(h.Problems, ";"), "postCreateCommand failed (exit 3)") {
		t.Errorf("health does not say it: %v", h.Problems)
	}
}
