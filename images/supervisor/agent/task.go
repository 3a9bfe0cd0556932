package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/docker-magents/docker-magents/images/supervisor/agentenv"
	"github.com/docker-magents/docker-magents/images/supervisor/logs"
)

// promptMarker is what Claude Code's input line starts with when it is ready for input.
const promptMarker = "❯"

// waitReady waits until Claude shows its prompt in the session: read from the pane,
// never a fixed sleep.
func waitReady(ctx context.Context, t tmux, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		if out, err := t.run("capture-pane", "-p", "-t", t.paneTarget()); err == nil && strings.Contains(out, promptMarker) {
			return nil
		}
		if !sleep(ctx, 300*time.Millisecond) {
			return fmt.Errorf("Claude did not show its prompt within %s", timeout)
		}
	}
}

// typeTask types text into Claude's prompt and submits it. With Claude's hooks in place it
// returns once Claude has taken the prompt (its UserPromptSubmit hook ran), so that a
// `docker magents wait` that follows sees the agent working, not the idle before.
func typeTask(ctx context.Context, cfg Config, t tmux, text string) error {
	text = strings.TrimSpace(text)
	if text == "" {
		return errors.New("the task is empty")
	}
	if err := waitReady(ctx, t, 2*time.Minute); err != nil {
		return err
	}
	// -l: literally, so words such as "Enter" or "C-c" in a task are text, not keys.
	if _, err := t.run("send-keys", "-t", t.paneTarget(), "-l", "--", text); err != nil {
		return err
	}
	// Claude's input takes a paste and an Enter in one burst as a newline; let it settle.
	sleep(ctx, 300*time.Millisecond)
	sent := time.Now()
	if _, err := t.run("send-keys", "-t", t.paneTarget(), "Enter"); err != nil {
		return err
	}
	if !claudeCommand(cfg.AgentCmd) {
		return nil
	}
	taken, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		if hs, ok := readHookState(cfg); ok && hs.Event != "SessionStart" && !hs.Since.Before(sent) {
			return nil
		}
		if !sleep(taken, 200*time.Millisecond) {
			logs.Printf("the task is typed in, but Claude has not started on it yet (it may be busy with a turn)")
			return nil
		}
	}
}

// GiveTask is `magents-supervisor task TEXT`: type a task into the running agent.
func GiveTask(cfg Config, args []string) int {
	if headless(cfg) {
		if err := queueTask(cfg, strings.Join(args, " ")); err != nil {
			logs.Printf("task: %v", err)
			return 1
		}
		return 0
	}
	if err := typeTask(context.Background(), cfg, tmux{session: cfg.Session}, strings.Join(args, " ")); err != nil {
		logs.Printf("task: %v", err)
		return 1
	}
	return 0
}

// deliverStartTask types $TASK once per Claude config dir (so not again on every restart
// of the container), when the agent is interactive.
func (s *supervisor) deliverStartTask(ctx context.Context) {
	task := startTask(os.Getenv)
	if task == "" {
		return
	}
	sum := sha256.Sum256([]byte(task))
	marker := filepath.Join(s.cfg.ClaudeConfigDir, ".magents-task")
	if b, err := os.ReadFile(marker); err == nil && strings.TrimSpace(string(b)) == hex.EncodeToString(sum[:]) {
		return
	}
	if err := typeTask(ctx, s.cfg, s.tmux, task); err != nil {
		logs.Printf("giving the agent its task: %v", err)
		return
	}
	_ = os.WriteFile(marker, []byte(hex.EncodeToString(sum[:])+"\n"), 0o600)
	logs.Printf("task given to Claude")
}

// startTask is the agent's task at start: $TASK, else the file named by the agent's
// number in $MAGENTS_TASKS_DIR (a Kubernetes ConfigMap holds one task per agent for the
// pods of one StatefulSet, which share their environment).
func startTask(getenv func(string) string) string {
	if task := strings.TrimSpace(getenv(agentenv.Task)); task != "" {
		return task
	}
	dir, id := getenv(agentenv.TasksDir), getenv(agentenv.AgentID)
	if dir == "" || id == "" || strings.ContainsAny(id, "/.") {
		return ""
	}
	b, err := os.ReadFile(filepath.Join(dir, id))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
