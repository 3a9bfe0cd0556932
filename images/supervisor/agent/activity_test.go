package agent

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// What Claude's hooks report reaches the supervisor's stdout as one line per event, in
// order, with an agent's escape sequences removed and never a prompt's text.
func TestActivityReachesTheLog(t *testing.T) {
	cfg := Config{RunDir: t.TempDir()}
	var out lockedBuffer
	activityOut = &out
	defer func() { activityOut = os.Stdout }()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// This process stands for the supervisor the hooks kick.
	if err := os.WriteFile(supervisorPIDFile(cfg), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		t.Fatal(err)
	}
	go relayAndPush(ctx, newWaiter(ctx), &activityRelay{cfg: cfg}, nil)
	for _, ev := range []string{
		`{"hook_event_name":"SessionStart","source":"startup"}`,
		`{"hook_event_name":"UserPromptSubmit","prompt":"deploy with key sk-ant-secret"}`,
		`{"hook_event_name":"PreToolUse","tool_name":"Bash"}`,
		`{"hook_event_name":"PostToolUse","tool_name":"Bash"}`,
		`{"hook_event_name":"Notification","notification_type":"permission_prompt","message":"approve \u001b[2J Bash"}`,
		`{"hook_event_name":"Notification","notification_type":"idle_prompt","message":"Claude is waiting for your input"}`,
		`{"hook_event_name":"Stop"}`,
	} {
		if code := RecordHook(cfg, nil, strings.NewReader(ev)); code != 0 {
			t.Fatalf("hook %s: exit %d", ev, code)
		}
	}
	want := []string{"session started (startup)", "prompt taken", "using tool Bash", "waiting: approve [2J Bash", "turn ended"}
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(out.String(), "\n") < len(want) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != len(want) {
		t.Fatalf("activity:\n%s", out.String())
	}
	for i, w := range want {
		if !strings.HasSuffix(lines[i], " agent: "+w) {
			t.Errorf("line %d: %q, want … agent: %s", i, lines[i], w)
		}
	}
	if strings.Contains(out.String(), "sk-ant") || strings.ContainsRune(out.String(), '\x1b') {
		t.Errorf("the log shows a prompt's text or an escape sequence:\n%s", out.String())
	}
}
