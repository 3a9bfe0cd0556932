package workqueue

import (
	"strings"
	"testing"
	"time"
)

func TestDispatchOrderAndOneTaskPerAgent(t *testing.T) {
	q := New()
	now := time.Now()
	if _, err := q.Add(now, NewTask{Prompt: "a"}, NewTask{Prompt: "b", Priority: 5}, NewTask{Prompt: "c", Agent: "agent-2"}, NewTask{Prompt: "d"}); err != nil {
		t.Fatal(err)
	}
	got := func(agent string) string {
		task, ok := q.Next(agent, now, false)
		if !ok {
			return "-"
		}
		return task.Prompt
	}
	if g := got("agent-1"); g != "b" {
		t.Fatalf("first: %s", g)
	}
	// agent-1 holds b: asked again (its container restarted) it gets b again.
	if g := got("agent-1"); g != "b" {
		t.Fatalf("again: %s", g)
	}
	if g := got("agent-3"); g != "a" {
		t.Fatalf("agent-3: %s", g)
	}
	if g := got("agent-2"); g != "c" {
		t.Fatalf("agent-2 takes its own: %s", g)
	}
	if g := got("agent-4"); g != "d" {
		t.Fatalf("agent-4: %s", g)
	}
	if g := got("agent-5"); g != "-" {
		t.Fatalf("agent-5: %s", g)
	}
	if _, err := q.Report("agent-2", Report{ID: "task-1", State: Working}, now); err == nil {
		t.Fatal("agent-2 reported on agent-3's task")
	}
	b, _ := q.Current("agent-1")
	if _, err := q.Report("agent-1", Report{ID: b.ID, State: Done, Result: "did b", Branch: "magents/" + b.ID, DiffStat: " 1 file changed"}, now.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if done, _ := q.Get(b.ID); done.State != Done || done.Result != "did b" || done.Duration(now) != time.Minute {
		t.Fatalf("done: %+v", done)
	}
	if _, ok := q.Current("agent-1"); ok {
		t.Fatal("agent-1 still holds a task after done")
	}
	// A blocked agent (over budget) gets nothing new.
	q.Add(now, NewTask{Prompt: "e"})
	if _, ok := q.Next("agent-1", now, true); ok {
		t.Fatal("a blocked agent got work")
	}
}

func TestRetriesTimeoutCancel(t *testing.T) {
	q := New()
	now := time.Now()
	q.Add(now, NewTask{Prompt: "flaky"}, NewTask{Prompt: "slow", Timeout: time.Minute}, NewTask{Prompt: "unwanted"})
	first, _ := q.Next("agent-1", now, false)
	if a, _ := q.Report("agent-1", Report{ID: first.ID, State: Failed, Error: "API error 500"}, now); !a.Stop {
		t.Fatal("a failed report does not stop the agent")
	}
	if task, _ := q.Get(first.ID); task.State != Queued || task.Error != "API error 500" {
		t.Fatalf("after one failure: %+v", task)
	}
	again, _ := q.Next("agent-2", now, false)
	if again.ID != first.ID || again.Attempts != 2 {
		t.Fatalf("retried: %+v", again)
	}
	q.Report("agent-2", Report{ID: again.ID, State: Failed, Error: "the session died"}, now)
	if task, _ := q.Get(first.ID); task.State != Failed {
		t.Fatalf("after its tries: %+v", task)
	}

	slow, _ := q.Next("agent-1", now, false)
	q.Report("agent-1", Report{ID: slow.ID, State: Working}, now)
	if ids := q.Expire(now.Add(30 * time.Second)); len(ids) != 0 {
		t.Fatalf("expired early: %v", ids)
	}
	if ids := q.Expire(now.Add(2 * time.Minute)); len(ids) != 1 || ids[0] != slow.ID {
		t.Fatalf("expire: %v", ids)
	}
	if a, _ := q.Report("agent-1", Report{ID: slow.ID, State: Working}, now); !a.Stop {
		t.Fatal("the agent is not told to stop a timed-out task")
	}

	unwanted, _ := q.Get("task-3")
	if _, err := q.Cancel(unwanted.ID, now); err != nil {
		t.Fatal(err)
	}
	if _, err := q.Cancel(unwanted.ID, now); err == nil || !strings.Contains(err.Error(), "already cancelled") {
		t.Fatalf("cancel twice: %v", err)
	}
	if task, err := q.Retry(unwanted.ID); err != nil || task.State != Queued || task.Attempts != 0 {
		t.Fatalf("retry: %+v %v", task, err)
	}
}

func TestOverBudgetIsNotRetried(t *testing.T) {
	q := New()
	now := time.Now()
	q.Add(now, NewTask{Prompt: "expensive"})
	task, _ := q.Next("agent-1", now, false)
	q.OverBudget("agent-1", "agent-1 reached its budget", now)
	if got, _ := q.Get(task.ID); got.State != BudgetExceeded {
		t.Fatalf("%+v", got)
	}
	if _, ok := q.Next("agent-2", now, false); ok {
		t.Fatal("a task stopped by a budget was given again")
	}
}

func TestQueueSurvivesARestart(t *testing.T) {
	q := New()
	now := time.Now()
	q.Add(now, NewTask{Prompt: "one"}, NewTask{Prompt: "two"})
	q.Next("agent-1", now, false)
	b, err := q.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	again, err := Load(b)
	if err != nil {
		t.Fatal(err)
	}
	if cur, ok := again.Current("agent-1"); !ok || cur.ID != "task-1" {
		t.Fatalf("the assigned task was lost: %+v", again.List())
	}
	added, _ := again.Add(now, NewTask{Prompt: "three"})
	if added[0].ID != "task-3" {
		t.Fatalf("IDs start again after a restart: %s", added[0].ID)
	}
	if _, err := Load([]byte(`{"tasks":[{"ID":"task-1","State":"exploded"}]}`)); err == nil {
		t.Fatal("an unknown state was read")
	}
}

func TestAddRefusesBadTasks(t *testing.T) {
	q := New()
	for _, bad := range []NewTask{{Prompt: "  "}, {Prompt: strings.Repeat("x", MaxPrompt+1)}, {Prompt: "x", Timeout: -time.Second}} {
		if _, err := q.Add(time.Now(), bad); err == nil {
			t.Errorf("%.20q accepted", bad.Prompt)
		}
	}
	if len(q.List()) != 0 {
		t.Fatal("a refused batch left tasks")
	}
}
