//go:build e2e

package e2e

import (
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/icmd"

	"github.com/docker-magents/docker-magents/internal/anthropictest"
)

// Tasks given to up, and with docker magents task, are typed into Claude's prompt once it
// is ready, and reach the Messages API as real turns; the answer shows in the pane.
func TestFleetTasks(t *testing.T) {
	nonce := time.Now().Format("150405.000")
	e := newFleetEnv(t, nonce)
	mg := func(args ...string) *icmd.Result { return e.magents(append([]string{"-p", "taske2e"}, args...)...) }
	t.Cleanup(func() { mg("down", "--volumes") })

	mg("up", "--agents", "1", "--task", "a", "--task", "b").Assert(t, icmd.Expected{ExitCode: 1, Err: "2 tasks for 1 agent"})
	mg("up", "--agents", "2", "--task", "ping from the first task", "--task", "write the second thing").Assert(t, icmd.Success)
	t.Cleanup(func() {
		if t.Failed() {
			for _, c := range []string{"taske2e-agent-1", "taske2e-agent-2"} {
				t.Logf("%s logs:\n%s\npane:\n%s", c, docker("logs", c).Combined(), docker("exec", c, "tmux", "capture-pane", "-p", "-t", "claude").Stdout())
			}
		}
	})
	seen := func(text string) func([]anthropictest.Request) bool {
		return func(rs []anthropictest.Request) bool {
			for _, r := range rs {
				if r.HasTools() && strings.Contains(r.LastUserText(), text) && r.APIKey == e.apiKey {
					return true
				}
			}
			return false
		}
	}
	waitRequests(t, e.api, seen("ping from the first task"))
	waitRequests(t, e.api, seen("write the second thing"))
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(docker("exec", "taske2e-agent-1", "tmux", "capture-pane", "-p", "-t", "claude").Stdout(), "pong "+nonce) {
		if time.Now().After(deadline) {
			t.Fatalf("the answer to agent-1's task is not on its screen:\n%s", docker("exec", "taske2e-agent-1", "tmux", "capture-pane", "-p", "-t", "claude").Stdout())
		}
		time.Sleep(500 * time.Millisecond)
	}

	mg("task", "agent-2", "ping", "from", "the", "task", "command").Assert(t, icmd.Success)
	waitRequests(t, e.api, seen("ping from the task command"))
	mg("task", "agent-3", "x").Assert(t, icmd.Expected{ExitCode: 1, Err: "there is no agent-3"})
}
