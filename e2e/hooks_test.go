//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"gotest.tools/v3/icmd"

	"github.com/docker-magents/docker-magents/internal/anthropictest"
)

// Claude's own hooks, fired by the real binary, drive the state ps and wait report. A
// task given with docker magents task makes agent-1's Claude (scripted by the test API)
// run git commit through its Bash tool; Claude asks permission first (waiting), the user
// gives it in the pane, Claude commits (working) and ends its turn (idle). The commit shows
// in diff and merges on the host, owned by the workspace owner.
func TestFleetHooksAndClaudeCommits(t *testing.T) {
	anyEngine(t, "Claude's hooks and commits")
	parallelSuite(t)
	nonce := time.Now().Format("150405.000")
	commit := "printf 'hello from claude\\n' > greeting.txt && git add greeting.txt && " +
		"git -c user.name=Claude -c user.email=claude@example.invalid commit -qm 'greeting " + nonce + "'"
	e := newFleetEnvWith(t, nonce, func(r anthropictest.Request) anthropictest.Reply {
		switch {
		case !r.HasTools():
			return anthropictest.Reply{Text: "Test title"}
		case strings.Contains(r.LastUserText(), "commit the greeting"):
			if _, ok := r.ToolResult(); ok {
				return anthropictest.Reply{Text: "Committed the greeting " + nonce}
			}
			return anthropictest.Reply{Text: "I will commit it.", ToolUse: &anthropictest.ToolUse{
				Name: "Bash", Input: map[string]any{"command": commit, "description": "Commit the greeting"},
			}}
		}
		if out, ok := r.ToolResult(); ok {
			return anthropictest.Reply{Text: "Committed the greeting " + nonce + ": " + out}
		}
		return anthropictest.Reply{Text: "The Messages API test double heard you."}
	}).inProject("hookse2e")
	git := e.initRepo()
	pane := func() string {
		return docker("exec", e.container("agent-1"), "tmux", "capture-pane", "-p", "-t", "claude").Stdout()
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("agent-1 logs:\n%s\npane:\n%s", docker("logs", e.container("agent-1")).Combined(), pane())
			t.Logf("agent-2 logs:\n%s\nhealth: %s", docker("logs", e.container("agent-2")).Combined(),
				docker("exec", e.container("agent-2"), "magents-supervisor", "health").Stdout())
		}
	})

	// manual: Claude asks before it runs a command (auto, Claude's default, would ask a
	// classifier through the same API first).
	e.magents("up", "--agents", "2", "--permission-mode", "manual").Assert(t, icmd.Success)
	// SessionStart: both Claudes are at their prompts.
	res := e.magents("wait", "--for", "idle", "--timeout", "90s")
	res.Assert(t, icmd.Success)
	for _, want := range []string{"agent-1\tidle", "agent-2\tidle"} {
		if !strings.Contains(res.Stdout(), want) {
			t.Errorf("wait --for idle printed:\n%s", res.Stdout())
		}
	}

	// The task command returns once Claude took the prompt: the agent is past idle.
	e.magents("task", "agent-1", "commit the greeting").Assert(t, icmd.Success)
	if st := e.state("agent-1"); st != "working" && st != "waiting" {
		t.Errorf("right after the task, agent-1 is %q, want working or waiting", st)
	}
	// Notification: Claude asks to run the command, and says so.
	res = e.magents("wait", "--for", "waiting", "--timeout", "60s", "agent-1")
	res.Assert(t, icmd.Success)
	if !strings.Contains(res.Stdout(), "agent-1\twaiting") || !strings.Contains(strings.ToLower(res.Stdout()), "permission") {
		t.Errorf("wait --for waiting printed:\n%s", res.Stdout())
	}
	table := e.magents("ps", "--live").Stdout()
	if !strings.Contains(table, "FOR") || !strings.Contains(table, "waiting: ") {
		t.Errorf("ps does not show what agent-1 waits for:\n%s", table)
	}
	if st := e.state("agent-2"); st != "idle" {
		t.Errorf("agent-2, given nothing, is %q", st)
	}

	// The user gives the permission (Enter takes the dialog's first choice, "Yes").
	waitFor(t, 30*time.Second, "the permission dialog on agent-1's screen", func() (bool, string) {
		p := pane()
		return strings.Contains(p, "Yes"), p
	})
	docker("exec", e.container("agent-1"), "tmux", "send-keys", "-t", "=claude:", "Enter").Assert(t, icmd.Success)
	// PostToolUse, then Stop.
	e.magents("wait", "--for", "idle", "--timeout", "60s", "agent-1").Assert(t, icmd.Success)
	waitFor(t, 30*time.Second, "Claude's last answer on agent-1's screen", func() (bool, string) {
		p := pane()
		return strings.Contains(p, "Committed the greeting "+nonce), p
	})

	diff := e.magents("diff", "agent-1")
	diff.Assert(t, icmd.Success)
	if !strings.Contains(diff.Stdout(), "+hello from claude") {
		t.Fatalf("diff agent-1 lacks Claude's commit:\n%s", diff.Combined())
	}
	e.magents("merge", "agent-1").Assert(t, icmd.Expected{Out: "Merged magents/agent-1"})
	if log := git("log", "-1", "--format=%an %s"); log != "Claude greeting "+nonce {
		t.Errorf("host HEAD after merge: %q", log)
	}
	// In a private clone, the default in a repository: merged, the file is the owner's.
	for _, path := range []string{filepath.Join(e.dir, "greeting.txt")} {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if uid := st.Sys().(*syscall.Stat_t).Uid; uid != workspaceUID {
			t.Errorf("%s is owned by uid %d, not the workspace owner %d", path, uid, workspaceUID)
		}
	}

	// wait fails at once for an agent that does not exist, and times out with exit 2.
	e.magents("wait", "agent-9").Assert(t, icmd.Expected{ExitCode: 1, Err: "there is no agent-9"})
	e.magents("wait", "--for", "done", "--timeout", "2s", "agent-2").Assert(t, icmd.Expected{ExitCode: 2, Err: "agent-2 is idle"})
}

// state is one agent's state as ps --format json reports it.
func (e *fleetEnv) state(agent string) string {
	e.t.Helper()
	res := e.magents("ps", "--live", "--format", "json")
	statuses := jsonLines[struct{ Agent, State string }](e.t, res.Stdout())
	i := slices.IndexFunc(statuses, func(s struct{ Agent, State string }) bool { return s.Agent == agent })
	if i < 0 {
		e.t.Fatalf("ps has no %s: %s", agent, res.Stdout())
	}
	return statuses[i].State
}
