//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/icmd"

	"github.com/docker-magents/docker-magents/internal/anthropictest"
)

// The work queue: three agents drain a backlog — the fourth task given to up, nine from a
// file, and two more — each task in a fresh conversation on its own branch
// from the host's base, with Claude's final answer and the branch's diff stat as its
// result. A task whose turn ends on an API error is tried again, then failed; a task past
// its timeout is taken back. The dispatcher's restart loses and repeats nothing. What the
// queue promises is checked, not which agent wins a race for a task: no agent holds two
// tasks at once, an idle agent takes a queued task at once, and the gateway's account of
// each task is the API's. Work is spread over the agents where that is deterministic: three
// idle agents, three tasks each longer than it takes the others to ask.
func TestWorkQueueDrains(t *testing.T) {
	anyEngine(t, "the dispatcher and its queue")
	parallelSuite(t)
	nonce := fmt.Sprint(time.Now().UnixNano())
	item := func(r anthropictest.Request) int {
		for n := 1; n <= 18; n++ {
			if r.Mentions(fmt.Sprintf("queue item #%d#", n)) {
				return n
			}
		}
		return 0
	}
	// Items 16 to 18 hold their agent for this long: far longer than an idle agent takes to
	// ask for a queued task (a long poll, answered as the task is queued).
	const long = 10 * time.Second
	e := newFleetEnvWith(t, nonce, func(r anthropictest.Request) anthropictest.Reply {
		n := item(r)
		switch {
		case !r.HasTools() || n == 0:
			return anthropictest.Reply{Text: "Test title"}
		case n == 14: // fails: an error Claude does not retry
			return anthropictest.Reply{Status: 400, Error: "invalid_request_error"}
		case n == 15: // slow: longer than its timeout
			return anthropictest.Reply{Text: "still thinking", Delay: 45 * time.Second}
		}
		if _, ok := r.ToolResult(); ok {
			return anthropictest.Reply{Text: fmt.Sprintf("Finished item %d of %s.", n, nonce)}
		}
		reply := anthropictest.Reply{Text: "Writing it.", ToolUse: &anthropictest.ToolUse{
			Name: "Write", Input: map[string]any{"file_path": fmt.Sprintf("/workspace/item-%d.txt", n), "content": fmt.Sprintf("item %d\n", n)},
		}}
		if n >= 16 {
			reply.Delay = long
		}
		return reply
	}).inProject("queuee2e")
	git := e.initRepo()
	base := git("rev-parse", "HEAD")
	// The agents' clones hold the tasks' branches, which down keeps unless forced.
	t.Cleanup(func() { e.magents("down", "--volumes", "--force") })
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("queue:\n%s", e.magents("queue", "ls", "--format", "json").Combined())
			for _, a := range []string{"agent-1", "agent-2", "agent-3", "egress-proxy"} {
				t.Logf("%s logs:\n%s", a, docker("logs", e.container(a)).Combined())
			}
		}
	})
	type task struct {
		ID, Prompt, State, AssignedTo, Result, Branch, Base, DiffStat, Error string
		Attempts, Tokens                                                     int
		Created, Started, Ended                                              time.Time
	}
	queue := func() ([]task, string) {
		out := e.magents("queue", "ls", "--format", "json").Stdout()
		return jsonLines[task](t, out), out
	}
	itemOf := func(q task) string {
		return strings.TrimSuffix(strings.TrimPrefix(q.Prompt, "Write down queue item #"), "#.")
	}
	// Four tasks for three agents: one each at start, the fourth queued; then a backlog of
	// nine more from a file, a failing one and a slow one.
	var tasks []string
	for n := 1; n <= 4; n++ {
		tasks = append(tasks, "--task", fmt.Sprintf("Write down queue item #%d#.", n))
	}
	up := e.magents(append([]string{"up", "--agents", "3", "--permission-mode", "acceptEdits"}, tasks...)...)
	up.Assert(t, icmd.Success)
	if !strings.Contains(up.Stdout(), "1 more task(s) queued, task-1 to task-1") {
		t.Errorf("up:\n%s", up.Stdout())
	}
	var backlog strings.Builder
	for n := 5; n <= 13; n++ {
		fmt.Fprintf(&backlog, "- 'Write down queue item #%d#.'\n", n)
	}
	file := filepath.Join(t.TempDir(), "backlog.yaml")
	if err := os.WriteFile(file, []byte(backlog.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	e.magents("queue", "add", "--file", file).Assert(t, icmd.Expected{Out: "task-2 queued"})
	e.magents("queue", "add", "Write down queue item #14#.").Assert(t, icmd.Expected{Out: "task-11 queued"})
	e.magents("queue", "add", "--timeout", "8s", "--priority", "5", "Write down queue item #15#.").Assert(t, icmd.Expected{Out: "task-12 queued"})

	// The dispatcher restarts while the queue drains — once a task is done, with the slow
	// one still before its second timeout: nothing is lost or done twice.
	waitFor(t, 3*time.Minute, "a queued task to be done", func() (bool, string) {
		list, out := queue()
		for _, q := range list {
			if q.State == "done" {
				return true, out
			}
		}
		return false, out
	})
	docker("restart", e.container("egress-proxy")).Assert(t, icmd.Success)

	// drained waits until the queue holds want tasks, every one over.
	drained := func(want int) []task {
		var list []task
		waitFor(t, 5*time.Minute, fmt.Sprintf("the queue's %d tasks to be over", want), func() (bool, string) {
			var out string
			list, out = queue()
			over := 0
			for _, q := range list {
				switch q.State {
				case "done", "failed", "cancelled", "budget-exceeded":
					over++
				}
			}
			return len(list) == want && over == want, out
		})
		return list
	}
	list := drained(12)
	for _, q := range list {
		switch n := itemOf(q); n {
		case "14":
			if q.State != "failed" || q.Attempts != 2 || !strings.Contains(q.Error, "API error") {
				t.Errorf("the failing task: %+v", q)
			}
		case "15":
			if q.State != "failed" || q.Attempts != 2 || !strings.Contains(q.Error, "timeout of 8s") {
				t.Errorf("the slow task: %+v", q)
			}
		default:
			if q.State != "done" || q.Attempts != 1 || !strings.Contains(q.Result, "Finished item "+n+" of "+nonce) ||
				q.Branch != "magents/"+q.ID || q.Base != base || !strings.Contains(q.DiffStat, "1 file changed") {
				t.Errorf("%s: %+v", q.ID, q)
				continue
			}
			// The branch is in the agent's clone, from the host's base, with the file.
			if got := docker("exec", e.container(q.AssignedTo), "git", "-C", "/workspace", "show", q.Branch+":item-"+n+".txt").Stdout(); got != "item "+n+"\n" {
				t.Errorf("%s's branch %s holds %q", q.ID, q.Branch, got)
			}
			if got := strings.TrimSpace(docker("exec", e.container(q.AssignedTo), "git", "-C", "/workspace", "merge-base", q.Branch, base).Stdout()); got != base {
				t.Errorf("%s's branch does not start from the base: %q", q.ID, got)
			}
		}
	}
	// One task at a time per agent; and an agent whose task is done takes the next queued
	// one without delay — within the time a dispatcher's restart takes (its stop, its start,
	// and the 5 s an agent waits before asking an unreachable dispatcher again), with room
	// for a loaded machine.
	const restartBound = 45 * time.Second
	byAgent := map[string][]task{}
	for _, q := range list {
		byAgent[q.AssignedTo] = append(byAgent[q.AssignedTo], q)
	}
	for agent, held := range byAgent {
		slices.SortFunc(held, func(a, b task) int { return a.Started.Compare(b.Started) })
		for i := 1; i < len(held); i++ {
			prev, next := held[i-1], held[i]
			if next.Started.Before(prev.Ended) {
				t.Errorf("%s held two tasks at once: %s (%s to %s) and %s (from %s)", agent, prev.ID,
					prev.Started.Format(time.StampMilli), prev.Ended.Format(time.StampMilli), next.ID, next.Started.Format(time.StampMilli))
			}
			if idle := next.Started.Sub(prev.Ended); prev.State == "done" && !next.Created.After(prev.Ended) && idle > restartBound {
				t.Errorf("%s was idle %s after %s with %s queued", agent, idle, prev.ID, next.ID)
			}
		}
	}

	// Three idle agents, three tasks queued at once, each holding its agent for 10 s: each
	// agent takes one, at once.
	e.magents("wait", "--for", "idle", "--timeout", "120s").Assert(t, icmd.Success)
	backlog.Reset()
	for n := 16; n <= 18; n++ {
		fmt.Fprintf(&backlog, "- 'Write down queue item #%d#.'\n", n)
	}
	if err := os.WriteFile(file, []byte(backlog.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	e.magents("queue", "add", "--file", file).Assert(t, icmd.Expected{Out: "task-13 queued"})
	list = drained(15)
	taken := map[string]string{}
	for _, q := range list[12:] {
		if q.State != "done" || !strings.Contains(q.Result, "Finished item "+itemOf(q)+" of "+nonce) {
			t.Errorf("%s: %+v", q.ID, q)
		}
		if other, ok := taken[q.AssignedTo]; ok {
			t.Errorf("%s took both %s and %s while the other agents were idle", q.AssignedTo, other, q.ID)
		}
		taken[q.AssignedTo] = q.ID
		if wait := q.Started.Sub(q.Created); wait > long {
			t.Errorf("%s waited %s in the queue with three agents idle", q.ID, wait)
		}
	}

	// The gateway counted each done task's requests as the API sent them: usage --by task
	// has, for each, the tokens the test double answered that task's requests with, and
	// queue ls says the same. A failed task's late answers may still be on their way, so
	// the three are read until they agree.
	type usageRow struct {
		Task             string
		Requests, Tokens int
	}
	waitFor(t, time.Minute, "usage --by task to agree with queue ls and the API's tally", func() (bool, string) {
		byTask := map[string]usageRow{}
		for _, r := range jsonLines[usageRow](t, e.magents("usage", "--by", "task", "--format", "json").Stdout()) {
			byTask[r.Task] = r
		}
		var wrong []string
		list, _ := queue()
		for _, q := range list {
			if q.State != "done" {
				continue
			}
			mention := "queue item #" + itemOf(q) + "#"
			sent := e.api.SentFor(func(r anthropictest.Request) bool { return r.Mentions(mention) })
			if r := byTask[q.ID]; r.Requests == 0 || r.Tokens != sent.Tokens() || r.Tokens != q.Tokens {
				wrong = append(wrong, fmt.Sprintf("%s: usage --by task %+v, queue ls %d tokens, the API sent %d", q.ID, r, q.Tokens, sent.Tokens()))
			}
		}
		return len(wrong) == 0, strings.Join(wrong, "\n")
	})
	show := e.magents("queue", "show", "task-1")
	show.Assert(t, icmd.Success)
	for _, want := range []string{"State:     done", "Branch:    magents/task-1", "Result:", "Finished item"} {
		if !strings.Contains(show.Stdout(), want) {
			t.Errorf("queue show lacks %q:\n%s", want, show.Stdout())
		}
	}
	if table := e.magents("queue", "ls").Stdout(); !strings.Contains(table, "task-8") || !strings.Contains(table, "failed") {
		t.Errorf("queue ls:\n%s", table)
	}
	// A task's branch comes to the host as an agent's does: diff, then merge.
	diff := e.magents("diff", "--stat", "task-1")
	diff.Assert(t, icmd.Success)
	if !strings.Contains(diff.Stdout(), "item-4.txt") {
		t.Errorf("diff task-1:\n%s", diff.Combined())
	}
	e.magents("merge", "task-1").Assert(t, icmd.Expected{Out: "Merged magents/task-1."})
	if got := git("show", "HEAD:item-4.txt"); got != "item 4" {
		t.Errorf("after merge task-1, the host has %q", got)
	}
	e.magents("diff", "task-99").Assert(t, icmd.Expected{ExitCode: 1, Err: "no task task-99"})
	// Retry and cancel: an ended task is queued again, and cancelled before an agent
	// takes it — or while it works on it.
	e.magents("queue", "retry", "task-11").Assert(t, icmd.Expected{Out: "task-11 is queued"})
	res := e.magents("queue", "cancel", "task-11")
	if res.ExitCode != 0 && !strings.Contains(res.Stderr(), "already") {
		t.Errorf("queue cancel: %s", res.Combined())
	}
	e.magents("queue", "cancel", "task-1").Assert(t, icmd.Expected{ExitCode: 1, Err: "task-1 is already done"})
}

// Headless agents take queued tasks the same way, one claude -p each, on their own
// branches; a task given to an agent itself is still its one task.
func TestHeadlessTakesQueuedTasks(t *testing.T) {
	anyEngine(t, "the dispatcher and headless runs")
	parallelSuite(t)
	nonce := fmt.Sprint(time.Now().UnixNano())
	e := newFleetEnvWith(t, nonce, func(r anthropictest.Request) anthropictest.Reply {
		for n := 1; n <= 3; n++ {
			if r.Mentions(fmt.Sprintf("headless item #%d#", n)) {
				return anthropictest.Reply{Text: fmt.Sprintf("headless result %d of %s", n, nonce)}
			}
		}
		return anthropictest.Reply{Text: "Test title"}
	}).inProject("hqueuee2e")
	e.initRepo()
	t.Cleanup(func() { e.magents("down", "--volumes", "--force") })
	removeProjectLeftovers(t, "hqueuee2e")
	e.magents("up", "--headless", "--agents", "2").Assert(t, icmd.Success)
	e.magents("wait", "--for", "idle", "--timeout", "90s").Assert(t, icmd.Success)
	for n := 1; n <= 3; n++ {
		e.magents("queue", "add", fmt.Sprintf("Answer headless item #%d#.", n)).Assert(t, icmd.Success)
	}
	type task struct{ ID, State, Result, Branch, AssignedTo string }
	var list []task
	waitFor(t, 3*time.Minute, "the headless agents to do the three queued tasks", func() (bool, string) {
		out := e.magents("queue", "ls", "--format", "json").Stdout()
		list = jsonLines[task](t, out)
		done := 0
		for _, q := range list {
			if q.State == "done" {
				done++
			}
		}
		if done == 3 {
			return true, out
		}
		return false, out + "\nagent-1's last logs:\n" + docker("logs", "--tail", "40", e.container("agent-1")).Combined()
	})
	for i, q := range list {
		if want := fmt.Sprintf("headless result %d of %s", i+1, nonce); q.Result != want || q.Branch != "magents/"+q.ID {
			t.Errorf("%s: %+v, want result %q", q.ID, q, want)
		}
	}
	// Idle between tasks, and docker magents task still gives an agent its one task.
	e.magents("wait", "--for", "idle", "--timeout", "60s").Assert(t, icmd.Success)
	e.magents("task", "agent-1", "Answer headless item #1#.").Assert(t, icmd.Success)
}
