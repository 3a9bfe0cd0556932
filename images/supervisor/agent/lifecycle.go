package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/docker-magents/docker-magents/images/supervisor/agentenv"
	"github.com/docker-magents/docker-magents/images/supervisor/atomicfile"
	"github.com/docker-magents/docker-magents/images/supervisor/lifecycle"
)

// The project's lifecycle commands run in the session, before the agent command: what
// they print is on the session's screen (docker magents attach shows it), the session is
// alive meanwhile (the agent is starting, and healthy), and they run as the agent, in its
// workspace, behind its egress rules, without the model's credential.

// lifecycleFailure is where the last failed command's record is (lifecycle.Failure);
// createdMarker, in the container's own home, says the once-per-container commands ran;
// startedMarker, in the run dir, holds the supervisor start whose postStartCommand ran.
const (
	lifecycleFailure = "lifecycle-failure.json"
	createdMarker    = ".magents-lifecycle-created"
	startedMarker    = "lifecycle-started"
)

// runLifecycle runs the project's commands due at this session start: on the container's
// first, onCreate, updateContent and postCreate; on each supervisor start, postStart. A
// failure stops those after it, is recorded for health and doctor, and the agent starts
// all the same.
func runLifecycle(cfg Config, out io.Writer) {
	raw := os.Getenv(agentenv.ProjectCommands)
	if raw == "" {
		return
	}
	var cmds lifecycle.Commands
	if err := json.Unmarshal([]byte(raw), &cmds); err != nil {
		recordFailure(cfg, lifecycle.Failure{Command: agentenv.ProjectCommands, ExitCode: -1, Output: err.Error()})
		return
	}
	type step struct {
		name string
		cmd  *lifecycle.Command
	}
	var due []step
	home, _ := os.UserHomeDir()
	if created := filepath.Join(home, createdMarker); !fileExists(created) {
		due = append(due, step{"onCreateCommand", cmds.OnCreate}, step{"updateContentCommand", cmds.UpdateContent}, step{"postCreateCommand", cmds.PostCreate})
		// Once per container, however it went: a failing command is reported, not run again
		// at every restart of the session.
		_ = os.WriteFile(created, nil, 0o600)
	}
	start := readStatus(cfg).StartedAt.String() // this run of the supervisor
	startedFile := filepath.Join(cfg.RunDir, startedMarker)
	if b, _ := os.ReadFile(startedFile); string(b) != start {
		due = append(due, step{"postStartCommand", cmds.PostStart})
		_ = os.WriteFile(startedFile, []byte(start), 0o600)
	}
	for _, step := range due {
		if step.cmd == nil {
			continue
		}
		fmt.Fprintf(out, "── %s ──\r\n", step.name)
		if f := runCommand(cfg, step.name, *step.cmd, out); f != nil {
			fmt.Fprintf(out, "── %s ──\r\n", f.Error())
			recordFailure(cfg, *f)
			return
		}
	}
}

// runCommand runs one lifecycle command in the workspace, its output to out and kept for
// the failure's record; the named commands of a parallel one run at once.
func runCommand(cfg Config, name string, c lifecycle.Command, out io.Writer) *lifecycle.Failure {
	if c.Parallel != nil {
		var mu sync.Mutex
		var failed []lifecycle.Failure
		var wg sync.WaitGroup
		for _, sub := range slices.Sorted(maps.Keys(c.Parallel)) {
			wg.Go(func() {
				if f := runCommand(cfg, name+" "+sub, c.Parallel[sub], out); f != nil {
					mu.Lock()
					failed = append(failed, *f)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if len(failed) > 0 {
			return &failed[0]
		}
		return nil
	}
	var cmd *exec.Cmd
	switch {
	case len(c.Args) > 0:
		cmd = exec.Command(c.Args[0], c.Args[1:]...)
	case strings.TrimSpace(c.Shell) != "":
		cmd = exec.Command("/bin/sh", "-c", c.Shell)
	default:
		return nil
	}
	if st, err := os.Stat(cfg.workdir()); err == nil && st.IsDir() {
		cmd.Dir = cfg.workdir()
	}
	var tail tailBuffer
	cmd.Stdout = io.MultiWriter(newlines{out}, &tail)
	cmd.Stderr = cmd.Stdout
	err := cmd.Run()
	if err == nil {
		return nil
	}
	code := -1
	if exit, ok := errors.AsType[*exec.ExitError](err); ok {
		code = exit.ExitCode()
	}
	output := tail.String()
	if code == -1 {
		output = err.Error()
	}
	return &lifecycle.Failure{Command: name, ExitCode: code, Output: output}
}

func recordFailure(cfg Config, f lifecycle.Failure) {
	b, _ := json.Marshal(f)
	if err := atomicfile.Write(filepath.Join(cfg.RunDir, lifecycleFailure), b, 0o644); err != nil {
		fmt.Fprintf(os.Stderr, "magents-supervisor: recording %s: %v\n", f.Command, err)
	}
}

// LifecycleFailure is the last lifecycle command that failed in this container, if any.
func LifecycleFailure(cfg Config) (lifecycle.Failure, bool) {
	var f lifecycle.Failure
	b, err := os.ReadFile(filepath.Join(cfg.RunDir, lifecycleFailure))
	if err != nil || json.Unmarshal(b, &f) != nil {
		return f, false
	}
	return f, true
}

// tailBuffer keeps the last lines written to it, a few kilobytes at most.
type tailBuffer struct {
	mu  sync.Mutex
	buf []byte
}

const tailMax = 2048

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > tailMax {
		t.buf = t.buf[len(t.buf)-tailMax:]
	}
	return len(p), nil
}

// String is the last lines, trimmed: up to 5 of them.
func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	lines := strings.Split(strings.TrimSpace(string(bytes.ToValidUTF8(t.buf, nil))), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return strings.Join(lines, "\n")
}

// newlines writes to a terminal in raw mode: each \n as \r\n.
type newlines struct{ w io.Writer }

func (n newlines) Write(p []byte) (int, error) {
	if _, err := n.w.Write(bytes.ReplaceAll(p, []byte("\n"), []byte("\r\n"))); err != nil {
		return 0, err
	}
	return len(p), nil
}
