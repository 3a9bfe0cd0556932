// Package workqueue is the fleet's work queue: tasks, their states, and the dispatcher's
// rules — one task at a time per agent, in priority then arrival order, bounded retries,
// timeouts. The fleet's egress proxy keeps the queue (persisted in a file beside the
// agents' sockets) and runs it; each agent's supervisor asks for its next task when its
// agent is idle and reports on that task alone; the plugin reads and changes the queue
// through the proxy (docker magents queue). It imports only the standard library, like the
// supervisor.
package workqueue

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// State is where a task is.
type State string

const (
	Queued         State = "queued"          // waiting for an agent
	Assigned       State = "assigned"        // given to an agent, not yet taken up
	Working        State = "working"         // Claude works on it
	Waiting        State = "waiting"         // Claude waits for a person (a permission or a question)
	Done           State = "done"            // Claude's turn ended and the agent is idle
	Failed         State = "failed"          // an API error, the session died, or its timeout passed; retries spent
	Cancelled      State = "cancelled"       // docker magents queue cancel
	BudgetExceeded State = "budget-exceeded" // the model gateway refused its agent for a budget
)

// States lists every State.
var States = []State{Queued, Assigned, Working, Waiting, Done, Failed, Cancelled, BudgetExceeded}

// Final reports whether a task in s is over.
func (s State) Final() bool {
	return s == Done || s == Failed || s == Cancelled || s == BudgetExceeded
}

// active: the task holds its agent.
func (s State) active() bool { return s == Assigned || s == Working || s == Waiting }

// DefaultAttempts is how often a task is tried when it fails (the first try included).
const DefaultAttempts = 2

// Task is one piece of work.
type Task struct {
	ID       string        `json:"ID"` // task-1, task-2, …
	Prompt   string        `json:"Prompt"`
	Agent    string        `json:"Agent,omitempty"` // only this agent may take it
	Priority int           `json:"Priority"`        // higher first
	Timeout  time.Duration `json:"Timeout,omitempty"`
	Push     bool          `json:"Push,omitempty"` // push its branch when done…
	PushURL  string        `json:"PushURL,omitempty"`
	// Pushed says how the push went: "pushed to URL", or why not.
	Pushed string `json:"Pushed,omitempty"`
	State  State  `json:"State"`
	// AssignedTo is the agent working on it, or that last did.
	AssignedTo string    `json:"AssignedTo,omitempty"`
	Attempts   int       `json:"Attempts"`
	MaxTries   int       `json:"MaxAttempts"`
	Created    time.Time `json:"Created"`
	Started    time.Time `json:"Started,omitzero"` // this attempt's
	// Taken: when Claude took the task's prompt, as its agent reported (this attempt).
	Taken time.Time `json:"Taken,omitzero"`
	Ended time.Time `json:"Ended,omitzero"`
	// What the agent reported: Claude's last message of the turn, the branch it worked
	// on and its diff stat against the base, what it waits for, why it failed.
	Result   string `json:"Result,omitempty"`
	Branch   string `json:"Branch,omitempty"`
	Base     string `json:"Base,omitempty"` // the commit the branch started from
	DiffStat string `json:"DiffStat,omitempty"`
	Detail   string `json:"Detail,omitempty"`
	Error    string `json:"Error,omitempty"`
	// seq orders tasks of the same priority by arrival.
	Seq int `json:"Seq"`
}

// Duration is how long the task ran (so far).
func (t Task) Duration(now time.Time) time.Duration {
	switch {
	case t.Started.IsZero():
		return 0
	case t.Ended.IsZero():
		return now.Sub(t.Started)
	}
	return t.Ended.Sub(t.Started)
}

// NewTask is what queue add sends: a prompt and how to run it.
type NewTask struct {
	Prompt   string        `json:"prompt"`
	Agent    string        `json:"agent,omitempty"`
	Priority int           `json:"priority,omitempty"`
	Timeout  time.Duration `json:"timeout,omitempty"`
	Push     bool          `json:"push,omitempty"`
	PushURL  string        `json:"pushURL,omitempty"` // …to this remote
}

// Assignment is what an agent is told of its task: no more (not where it is pushed, nor
// what an earlier try by another agent left).
type Assignment struct {
	ID     string `json:"ID"`
	Prompt string `json:"Prompt"`
	Push   bool   `json:"Push,omitempty"`
}

// Assignment is t as its agent sees it.
func (t Task) Assignment() Assignment { return Assignment{ID: t.ID, Prompt: t.Prompt, Push: t.Push} }

// Report is what an agent's supervisor says of its task.
type Report struct {
	ID       string `json:"id"`
	State    State  `json:"state"` // working, waiting, done or failed
	Result   string `json:"result,omitempty"`
	Branch   string `json:"branch,omitempty"`
	Base     string `json:"base,omitempty"`
	DiffStat string `json:"diffStat,omitempty"`
	Detail   string `json:"detail,omitempty"`
	Error    string `json:"error,omitempty"`
}

// Answer is the dispatcher's reply to a report: Stop tells the agent to leave the task
// (it was cancelled, or timed out, or is another agent's now).
type Answer struct {
	Stop   bool   `json:"stop,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// Limits of what the queue keeps.
const (
	MaxPrompt = 64 << 10
	MaxResult = 64 << 10
	MaxTasks  = 10000
)

// Queue is the dispatcher's state; safe for concurrent use.
type Queue struct {
	mu      sync.Mutex
	tasks   []*Task
	seq     int
	changed chan struct{}
	queued  chan struct{} // closed (and replaced) when a task becomes queued
}

// New is an empty queue.
func New() *Queue { return &Queue{changed: make(chan struct{}, 1), queued: make(chan struct{})} }

// Queued is closed when a task next becomes queued: when to ask Next again.
func (q *Queue) Queued() <-chan struct{} {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.queued
}

func (q *Queue) wake() {
	close(q.queued)
	q.queued = make(chan struct{})
}

// Changed has a value after a change since it was last received: when to save.
func (q *Queue) Changed() <-chan struct{} { return q.changed }

func (q *Queue) touch() {
	select {
	case q.changed <- struct{}{}:
	default:
	}
}

// Add queues tasks and returns them as queued.
func (q *Queue) Add(now time.Time, in ...NewTask) ([]Task, error) {
	for i, t := range in {
		switch {
		case strings.TrimSpace(t.Prompt) == "":
			return nil, fmt.Errorf("task %d is empty", i+1)
		case len(t.Prompt) > MaxPrompt:
			return nil, fmt.Errorf("task %d is longer than %d bytes", i+1, MaxPrompt)
		case t.Timeout < 0:
			return nil, fmt.Errorf("task %d: a timeout is positive", i+1)
		case t.Push && t.PushURL == "":
			return nil, fmt.Errorf("task %d: pushed where? (no remote URL)", i+1)
		}
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.tasks)+len(in) > MaxTasks {
		return nil, fmt.Errorf("the queue holds at most %d tasks", MaxTasks)
	}
	var out []Task
	for _, t := range in {
		q.seq++
		task := &Task{ID: "task-" + strconv.Itoa(q.seq), Prompt: strings.TrimSpace(t.Prompt), Agent: t.Agent, Priority: t.Priority,
			Timeout: t.Timeout, Push: t.Push, PushURL: t.PushURL, State: Queued, MaxTries: DefaultAttempts, Created: now.UTC(), Seq: q.seq}
		q.tasks = append(q.tasks, task)
		out = append(out, *task)
	}
	q.touch()
	q.wake()
	return out, nil
}

// List is every task, in arrival order.
func (q *Queue) List() []Task {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]Task, len(q.tasks))
	for i, t := range q.tasks {
		out[i] = *t
	}
	return out
}

// Get is the task id.
func (q *Queue) Get(id string) (Task, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if t := q.find(id); t != nil {
		return *t, true
	}
	return Task{}, false
}

func (q *Queue) find(id string) *Task {
	for _, t := range q.tasks {
		if t.ID == id {
			return t
		}
	}
	return nil
}

// Current is the task agent holds, if any.
func (q *Queue) Current(agent string) (Task, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if t := q.current(agent); t != nil {
		return *t, true
	}
	return Task{}, false
}

func (q *Queue) current(agent string) *Task {
	for _, t := range q.tasks {
		if t.AssignedTo == agent && t.State.active() {
			return t
		}
	}
	return nil
}

// Next gives agent its next task: the one it holds (given again after its container
// restarted), else the queued task of the highest priority, first come first, that any
// agent or this one may take. None when blocked (its budget is spent).
func (q *Queue) Next(agent string, now time.Time, blocked bool) (Task, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if t := q.current(agent); t != nil {
		return *t, true
	}
	if blocked {
		return Task{}, false
	}
	var best *Task
	for _, t := range q.tasks {
		if t.State != Queued || t.Agent != "" && t.Agent != agent {
			continue
		}
		if best == nil || t.Priority > best.Priority || t.Priority == best.Priority && t.Seq < best.Seq {
			best = t
		}
	}
	if best == nil {
		return Task{}, false
	}
	best.State, best.AssignedTo, best.Started, best.Ended, best.Taken = Assigned, agent, now.UTC(), time.Time{}, time.Time{}
	best.Attempts++
	best.Error, best.Detail = "", ""
	q.touch()
	return *best, true
}

// Report takes agent's report on its task; the answer says whether it should stop.
func (q *Queue) Report(agent string, r Report, now time.Time) (Answer, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	t := q.find(r.ID)
	if t == nil || t.AssignedTo != agent {
		return Answer{}, fmt.Errorf("%s has no task %s", agent, r.ID)
	}
	if !t.State.active() {
		return Answer{Stop: true, Reason: "the task is " + string(t.State)}, nil
	}
	if r.Branch != "" {
		t.Branch, t.Base = clip(r.Branch, 200), clip(r.Base, 64)
	}
	switch r.State {
	case Working, Waiting:
		t.State, t.Detail = r.State, clip(r.Detail, 1000)
		if t.Taken.IsZero() {
			t.Taken = now.UTC()
		}
	case Done:
		if t.Taken.IsZero() {
			t.Taken = now.UTC()
		}
		t.State, t.Ended, t.Detail = Done, now.UTC(), ""
		t.Result, t.DiffStat = clip(r.Result, MaxResult), clip(r.DiffStat, 4000)
	case Failed:
		q.fail(t, clip(r.Error, 1000), now)
		return Answer{Stop: true, Reason: t.Error}, nil
	default:
		return Answer{}, fmt.Errorf("a task is reported working, waiting, done or failed, not %q", r.State)
	}
	q.touch()
	return Answer{}, nil
}

// fail ends an attempt: the task is queued again while it has tries left.
func (q *Queue) fail(t *Task, why string, now time.Time) {
	t.Error, t.Ended, t.Detail = why, now.UTC(), ""
	t.State = Failed
	if t.Attempts < t.MaxTries {
		t.State = Queued
		q.wake()
	}
	q.touch()
}

// Expire fails every task past its timeout; it returns those it failed.
func (q *Queue) Expire(now time.Time) []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []string
	for _, t := range q.tasks {
		if t.State.active() && t.Timeout > 0 && now.Sub(t.Started) > t.Timeout {
			q.fail(t, fmt.Sprintf("it ran past its timeout of %s", t.Timeout), now)
			out = append(out, t.ID)
		}
	}
	return out
}

// OverBudget ends the task agent holds: the gateway refuses it for a budget. Such a task
// is not retried.
func (q *Queue) OverBudget(agent, why string, now time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if t := q.current(agent); t != nil {
		t.State, t.Error, t.Ended, t.Detail = BudgetExceeded, why, now.UTC(), ""
		q.touch()
	}
}

// SetPushed records how the push of a done task went.
func (q *Queue) SetPushed(id, how string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if t := q.find(id); t != nil {
		t.Pushed = clip(how, 2000)
		q.touch()
	}
}

// Cancel cancels a task that is not over.
func (q *Queue) Cancel(id string, now time.Time) (Task, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	t := q.find(id)
	if t == nil {
		return Task{}, fmt.Errorf("no task %s in the queue", id)
	}
	if t.State.Final() {
		return *t, fmt.Errorf("%s is already %s", id, t.State)
	}
	t.State, t.Ended = Cancelled, now.UTC()
	q.touch()
	return *t, nil
}

// Retry queues an ended task again (failed, cancelled, over budget, or done), with fresh
// tries.
func (q *Queue) Retry(id string) (Task, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	t := q.find(id)
	if t == nil {
		return Task{}, fmt.Errorf("no task %s in the queue", id)
	}
	if !t.State.Final() {
		return *t, fmt.Errorf("%s is %s: only an ended task is retried", id, t.State)
	}
	t.State, t.Attempts, t.Error, t.Result, t.DiffStat, t.Detail = Queued, 0, "", "", "", ""
	t.Started, t.Ended = time.Time{}, time.Time{}
	q.touch()
	q.wake()
	return *t, nil
}

// MarshalJSON and Load keep the queue across restarts.
func (q *Queue) MarshalJSON() ([]byte, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return json.Marshal(struct {
		Seq   int     `json:"seq"`
		Tasks []*Task `json:"tasks"`
	}{q.seq, q.tasks})
}

// Load reads a queue MarshalJSON wrote.
func Load(data []byte) (*Queue, error) {
	q := New()
	if len(data) == 0 {
		return q, nil
	}
	var saved struct {
		Seq   int     `json:"seq"`
		Tasks []*Task `json:"tasks"`
	}
	if err := json.Unmarshal(data, &saved); err != nil {
		return q, err
	}
	q.seq, q.tasks = saved.Seq, slices.DeleteFunc(saved.Tasks, func(t *Task) bool { return t == nil })
	for _, t := range q.tasks {
		if !slices.Contains(States, t.State) {
			return New(), errors.New("a task has an unknown state " + string(t.State))
		}
	}
	return q, nil
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
