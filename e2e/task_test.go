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
	anyEngine(t, "the task flow")
	parallelSuite(t)
	nonce := time.Now().Format("150405.000")
	e := newFleetEnv(t, nonce)
	mg := func(args ...string) *icmd.Result { return e.magents(append([]string{"-p", "taske2e"}, args...)...) }
	t.Cleanup(func() { mg("down", "--volumes") })
	removeProjectLeftovers(t, "taske2e") // a task is given once per config volume

	// More tasks than agents: queued behind the egress proxy (TestWorkQueueDrains), refused
	// where there is no queue.
	mg("up", "--agents", "1", "--egress", "open", "--task", "a", "--task", "b").Assert(t, icmd.Expected{ExitCode: 1, Err: "2 tasks for 1 agent"})
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
	waitFor(t, 60*time.Second, "the answer to agent-1's task on its screen", func() (bool, string) {
		pane := docker("exec", "taske2e-agent-1", "tmux", "capture-pane", "-p", "-t", "claude").Stdout()
		return strings.Contains(pane, "pong "+nonce), pane
	})

	mg("task", "agent-2", "ping", "from", "the", "task", "command").Assert(t, icmd.Success)
	waitRequests(t, e.api, seen("ping from the task command"))
	mg("task", "agent-3", "x").Assert(t, icmd.Expected{ExitCode: 1, Err: "there is no agent-3"})
}

// A headless agent runs its task once with claude -p, keeps the result in its volume and
// reports done; results prints it.
func TestFleetHeadless(t *testing.T) {
	anyEngine(t, "headless runs")
	parallelSuite(t)
	nonce := time.Now().Format("150405.000")
	e := newFleetEnvWith(t, nonce, func(r anthropictest.Request) anthropictest.Reply {
		if strings.Contains(r.LastUserText(), "summarize the repository") {
			return anthropictest.Reply{Text: "headless result " + nonce}
		}
		return anthropictest.Reply{Text: "Test title"}
	})
	mg := func(args ...string) *icmd.Result { return e.magents(append([]string{"-p", "headlesse2e"}, args...)...) }
	t.Cleanup(func() { mg("down", "--volumes") })
	removeProjectLeftovers(t, "headlesse2e") // a headless result stays in its config volume

	// Without a task the agent waits for one, idle and healthy; then it runs the one given.
	mg("up", "--headless").Assert(t, icmd.Success)
	mg("wait", "--for", "idle", "--timeout", "60s").Assert(t, icmd.Success)
	mg("ps").Assert(t, icmd.Expected{Out: "waiting for a task"})
	mg("task", "agent-1", "summarize the repository").Assert(t, icmd.Success)
	mg("task", "agent-1", "and another").Assert(t, icmd.Expected{ExitCode: 1})
	type result struct {
		Agent    string
		Done     bool
		ExitCode int
		Result   string
	}
	var rs []result
	waitFor(t, 90*time.Second, "the headless task to finish", func() (bool, string) {
		out := mg("results", "--format", "json").Stdout()
		rs = jsonLines[result](t, out)
		if len(rs) == 1 && rs[0].Done {
			return true, out
		}
		return false, out + "\nthe agent's last logs:\n" + docker("logs", "--tail", "40", "headlesse2e-agent-1").Combined()
	})
	if rs[0].ExitCode != 0 || rs[0].Result != "headless result "+nonce {
		t.Fatalf("result: %+v", rs[0])
	}
	// ps shows done once the health check has run; the container stays up and healthy.
	waitFor(t, 30*time.Second, "ps to show the headless agent done", func() (bool, string) {
		ps := mg("ps").Stdout()
		return strings.Contains(ps, "done"), ps
	})
	mg("results").Assert(t, icmd.Expected{Out: "headless result " + nonce})
}

// removeProjectLeftovers removes what an interrupted earlier run left of a compose
// project: its containers and volumes (which would hold that run's task marker or result).
func removeProjectLeftovers(t *testing.T, project string) {
	t.Helper()
	filter := "label=com.docker.compose.project=" + project
	if ids := strings.Fields(docker("ps", "-aq", "--filter", filter).Stdout()); len(ids) > 0 {
		docker(append([]string{"rm", "-f"}, ids...)...)
	}
	if vols := strings.Fields(docker("volume", "ls", "-q", "--filter", filter).Stdout()); len(vols) > 0 {
		docker(append([]string{"volume", "rm", "-f"}, vols...)...).Assert(t, icmd.Success)
	}
}
