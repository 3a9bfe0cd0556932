package agent

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker-magents/docker-magents/images/supervisor/agentstate"
)

func TestNextState(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	type step struct {
		in    hookInput
		want  agentstate.State
		moved bool // Since changes
	}
	for _, tc := range []struct {
		name  string
		steps []step
	}{
		{"a turn", []step{
			{hookInput{Event: "SessionStart", Source: "startup"}, agentstate.Idle, true},
			{hookInput{Event: "UserPromptSubmit"}, agentstate.Working, true},
			{hookInput{Event: "PostToolUse", ToolName: "Bash"}, agentstate.Working, false},
			{hookInput{Event: "Stop"}, agentstate.Idle, true},
		}},
		{"a permission asked and given", []step{
			{hookInput{Event: "SessionStart", Source: "startup"}, agentstate.Idle, true},
			{hookInput{Event: "UserPromptSubmit"}, agentstate.Working, true},
			{hookInput{Event: "Notification", NotificationType: "permission_prompt", Message: "Claude needs your permission to use Bash"}, agentstate.Waiting, true},
			{hookInput{Event: "PostToolUse", ToolName: "Bash"}, agentstate.Working, true},
			{hookInput{Event: "Stop"}, agentstate.Idle, true},
		}},
		{"a notification from an older Claude, without a type", []step{
			{hookInput{Event: "UserPromptSubmit"}, agentstate.Working, true},
			{hookInput{Event: "Notification", Message: "Claude needs your permission to use Write"}, agentstate.Waiting, true},
		}},
		{"idle for a while is still idle", []step{
			{hookInput{Event: "Stop"}, agentstate.Idle, true},
			{hookInput{Event: "Notification", NotificationType: "idle_prompt", Message: "Claude is waiting for your input"}, agentstate.Idle, false},
			{hookInput{Event: "Notification", Message: "Claude is waiting for your input"}, agentstate.Idle, false},
		}},
		{"a question", []step{
			{hookInput{Event: "UserPromptSubmit"}, agentstate.Working, true},
			{hookInput{Event: "PreToolUse", ToolName: "AskUserQuestion"}, agentstate.Waiting, true},
			{hookInput{Event: "PostToolUse", ToolName: "AskUserQuestion"}, agentstate.Working, true},
		}},
		{"other tools before they run change nothing", []step{
			{hookInput{Event: "UserPromptSubmit"}, agentstate.Working, true},
			{hookInput{Event: "PreToolUse", ToolName: "Bash"}, agentstate.Working, false},
		}},
		{"a compaction within a turn", []step{
			{hookInput{Event: "UserPromptSubmit"}, agentstate.Working, true},
			{hookInput{Event: "SessionStart", Source: "compact"}, agentstate.Working, false},
		}},
		{"a cleared conversation", []step{
			{hookInput{Event: "UserPromptSubmit"}, agentstate.Working, true},
			{hookInput{Event: "SessionStart", Source: "clear"}, agentstate.Idle, true},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var st hookState
			for i, s := range tc.steps {
				now := t0.Add(time.Duration(i+1) * time.Second)
				prev := st
				st = nextState(st, s.in, now)
				if st.State != s.want {
					t.Fatalf("step %d (%s): state %q, want %q", i, s.in.Event, st.State, s.want)
				}
				if moved := !st.Since.Equal(prev.Since); moved != s.moved {
					t.Errorf("step %d (%s): since moved = %v, want %v", i, s.in.Event, moved, s.moved)
				}
			}
		})
	}
}

func TestNextStateWaitingSaysWhat(t *testing.T) {
	st := nextState(hookState{State: agentstate.Working}, hookInput{Event: "Notification", Message: "Claude needs your permission to use Bash"}, time.Now())
	if st.Detail != "Claude needs your permission to use Bash" {
		t.Errorf("detail = %q", st.Detail)
	}
	if st = nextState(st, hookInput{Event: "PostToolUse"}, time.Now()); st.Detail != "" {
		t.Errorf("detail kept after the wait: %q", st.Detail)
	}
}

// TestInstallHooks: the supervisor's hooks join the user's own, once, however often the
// agent starts, and every other setting stays.
func TestInstallHooks(t *testing.T) {
	dir := t.TempDir()
	cfg := Config{ClaudeConfigDir: dir, PermissionMode: "manual"}
	user := `{"model":"opus","permissions":{"allow":["Bash(make:*)"]},"hooks":{"Stop":[{"hooks":[{"type":"command","command":"notify-send done"}]}]}}`
	if err := os.WriteFile(filepath.Join(dir, "settings.json"), []byte(user), 0o600); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := writeSettings(cfg, "/usr/local/bin/magents-supervisor", nil, &placedRecord{}); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "settings.json"))
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Model       string
		Permissions struct {
			Allow       []string
			DefaultMode string
		}
		Hooks map[string][]struct {
			Matcher string
			Hooks   []struct{ Type, Command string }
		}
	}
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if got.Permissions.DefaultMode != "manual" || len(got.Permissions.Allow) != 1 {
		t.Errorf("permissions: %+v, want the user's allow list and defaultMode manual", got.Permissions)
	}
	if got.Model != "opus" {
		t.Errorf("the user's model setting was lost: %s", b)
	}
	for _, ev := range hookEvents {
		groups := got.Hooks[ev.Name]
		ours := 0
		for _, g := range groups {
			for _, h := range g.Hooks {
				if h.Command == "/usr/local/bin/magents-supervisor hook "+ev.Name {
					ours++
					if g.Matcher != ev.Matcher {
						t.Errorf("%s: matcher %q, want %q", ev.Name, g.Matcher, ev.Matcher)
					}
				}
			}
		}
		if ours != 1 {
			t.Errorf("%s: %d supervisor hooks, want 1: %s", ev.Name, ours, b)
		}
	}
	if stop := got.Hooks["Stop"]; len(stop) != 2 || stop[0].Hooks[0].Command != "notify-send done" {
		t.Errorf("the user's Stop hook was not kept first: %+v", stop)
	}
}

// TestRecordHook: the command Claude runs reads its event from stdin, keeps the state in
// the run dir, prints nothing (it would become Claude's context) and never fails.
func TestRecordHook(t *testing.T) {
	cfg := Config{RunDir: t.TempDir()}
	for _, ev := range []string{
		`{"session_id":"s","hook_event_name":"SessionStart","source":"startup","cwd":"/workspace"}`,
		`{"session_id":"s","hook_event_name":"UserPromptSubmit","prompt":"do it"}`,
		`{"session_id":"s","hook_event_name":"Notification","message":"Claude needs your permission to use Bash"}`,
	} {
		if code := RecordHook(cfg, nil, strings.NewReader(ev)); code != 0 {
			t.Fatalf("exit %d", code)
		}
	}
	st, ok := readHookState(cfg)
	if !ok || st.State != agentstate.Waiting || st.Event != "Notification" || st.Detail == "" {
		t.Fatalf("state = %+v, %v", st, ok)
	}
	// Garbage or nothing on stdin is logged, not fatal; the argument names the event.
	if code := RecordHook(cfg, []string{"Stop"}, strings.NewReader("not json")); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if st, _ := readHookState(cfg); st.State != agentstate.Idle {
		t.Errorf("after Stop: %+v", st)
	}
	clearHookState(cfg)
	if _, ok := readHookState(cfg); ok {
		t.Error("state kept after clearHookState")
	}
	clearHookState(cfg) // nothing to clear is fine
}

func TestStateOf(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
	up := healthReport{SessionAlive: true, AgentAlive: true}
	down := healthReport{Error: "tmux session claude is not running"}
	st := status{StartedAt: t0, SessionAt: t0.Add(time.Second)}
	working := hookState{State: agentstate.Working, Since: t0.Add(5 * time.Second)}
	for _, tc := range []struct {
		name   string
		h      healthReport
		st     status
		hs     hookState
		hooked bool
		claude bool
		want   agentstate.State
		since  time.Time
	}{
		{"hooks say", up, st, working, true, true, agentstate.Working, working.Since},
		{"claude before its first hook", up, st, hookState{}, false, true, agentstate.Starting, st.SessionAt},
		{"another command has no hooks", up, st, hookState{}, false, false, agentstate.Idle, st.SessionAt},
		{"not started yet", down, st, hookState{}, false, true, agentstate.Starting, t0},
		{"just ended: restarting", down, status{Restarts: 1, LastExit: t0.Add(-2 * time.Second)}, hookState{}, false, true, agentstate.Starting, t0.Add(-2 * time.Second)},
		{"ended and not back", down, status{Restarts: 3, LastExit: t0.Add(-time.Minute)}, hookState{}, false, true, agentstate.Failed, t0.Add(-time.Minute)},
		{"credential refused", up, status{AuthRejected: true, AuthRejectedAt: t0.Add(2 * time.Second)}, working, true, true, agentstate.AuthRejected, t0.Add(2 * time.Second)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, since, _ := stateOf(tc.h, tc.st, tc.hs, tc.hooked, tc.claude, t0)
			if got != tc.want || !since.Equal(tc.since) {
				t.Errorf("stateOf = %s since %s, want %s since %s", got, since, tc.want, tc.since)
			}
		})
	}
}

func TestClaudeCommand(t *testing.T) {
	for cmd, want := range map[string]bool{
		"claude":                                true,
		"claude --dangerously-skip-permissions": true,
		"/usr/local/bin/claude --model opus":    true,
		"IS_SANDBOX=1 claude":                   true,
		"sleep 600":                             false,
		"bash -c 'claude'":                      false,
		"":                                      false,
	} {
		if got := claudeCommand(cmd); got != want {
			t.Errorf("claudeCommand(%q) = %v, want %v", cmd, got, want)
		}
	}
}
