package agent

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker-magents/docker-magents/images/supervisor/agentstate"
)

// Whatever Claude (or anything else) writes to a hook's stdin, the hook exits 0, prints
// nothing, and the recorded state is one of the fixed states.
func FuzzRecordHook(f *testing.F) {
	for _, seed := range []string{
		`{"hook_event_name":"SessionStart","source":"startup"}`,
		`{"hook_event_name":"Notification","message":"Claude needs your permission to use Bash","notification_type":"permission_prompt"}`,
		`{"hook_event_name":"PreToolUse","tool_name":"AskUserQuestion"}`,
		`{"hook_event_name":"Stop"}`,
		`{"hook_event_name":7}`,
		`not json`,
		``,
	} {
		f.Add([]byte(seed), "Stop")
	}
	f.Fuzz(func(t *testing.T, stdin []byte, arg string) {
		cfg := Config{RunDir: t.TempDir()}
		if code := RecordHook(cfg, []string{arg}, strings.NewReader(string(stdin))); code != 0 {
			t.Fatalf("exit %d", code)
		}
		if st, ok := readHookState(cfg); ok && !slices.Contains(agentstate.States, st.State) {
			t.Fatalf("state %q is not one of the fixed states", st.State)
		}
	})
}

// The state machine only ever moves between the fixed states.
func FuzzNextState(f *testing.F) {
	f.Add("UserPromptSubmit", "", "", "", "", "idle")
	f.Add("Notification", "", "Claude is waiting for your input", "idle_prompt", "", "working")
	f.Fuzz(func(t *testing.T, event, source, message, ntype, tool, prev string) {
		p := hookState{State: agentstate.State(prev)}
		if !slices.Contains(agentstate.States, p.State) {
			p.State = ""
		}
		next := nextState(p, hookInput{Event: event, Source: source, Message: message, NotificationType: ntype, ToolName: tool}, time.Now())
		if next.State != "" && !slices.Contains(agentstate.States, next.State) {
			t.Fatalf("state %q", next.State)
		}
	})
}
