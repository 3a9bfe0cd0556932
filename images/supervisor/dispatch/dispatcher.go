// Package dispatch is the dispatcher, the egress proxy's third role (MAGENTS_QUEUE_STATE
// set): it keeps the fleet's work queue in a file beside the agents' sockets and runs it.
// An agent's supervisor asks for its next task through its own socket when its agent is
// idle, and reports on that task alone (the socket names the agent, and the agent's token
// must match); the fleet's operator adds, lists, cancels and retries tasks on the proxy's
// own port, through exec. It has no Docker socket and needs none.
package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/docker-magents/docker-magents/images/supervisor/agenttoken"
	"github.com/docker-magents/docker-magents/images/supervisor/atomicfile"
	"github.com/docker-magents/docker-magents/images/supervisor/logs"
	"github.com/docker-magents/docker-magents/images/supervisor/protocol"
	"github.com/docker-magents/docker-magents/images/supervisor/workqueue"
)

// Dispatcher runs the work queue.
type Dispatcher struct {
	q   *workqueue.Queue
	key []byte // the agents' tokens are signed with it; nil: the socket alone names them
	// Blocked says an agent may not get new work (its budget is spent).
	Blocked func(agent string) bool
	now     func() time.Time
	// Pushing a done task's branch (queue add --push): the fleet's git credentials (a
	// file in git's store format) and where the agents' bundles and the dispatcher's own
	// bare repository go (beside the queue, on the state volume: disk, not memory).
	GitCredentials string
	PushDir        string
	pushing        sync.Mutex // one push at a time
	uploads        chan struct{}
	uploading      sync.Map // agent → struct{}: its one upload under way
}

// New is the dispatcher of the queue kept in path; key signs the agents' tokens (nil: the
// socket alone names an agent).
func New(path string, key []byte) (*Dispatcher, error) {
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("work queue: %w", err)
	}
	q, err := workqueue.Load(data)
	if err != nil {
		return nil, fmt.Errorf("work queue: %s is not a queue this supervisor reads (%v): move it away to start an empty one", path, err)
	}
	return &Dispatcher{q: q, key: key, Blocked: func(string) bool { return false }, now: time.Now, uploads: make(chan struct{}, 4)}, nil
}

// Run saves the queue after each change and fails tasks past their timeout, until ctx ends.
func (d *Dispatcher) Run(ctx context.Context, path string) {
	save := func() {
		b, err := d.q.MarshalJSON()
		if err == nil {
			err = atomicfile.Write(path, b, 0o600)
		}
		if err != nil {
			logs.Printf("work queue: saving: %v", err)
		}
	}
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			save()
			return
		case <-d.q.Changed():
			save()
		case <-tick.C:
			for _, id := range d.q.Expire(d.now()) {
				logs.Printf("work queue: %s ran past its timeout", id)
			}
		}
	}
}

// Current is the task agent works on ("" for none), for the gateway's account.
func (d *Dispatcher) Current(agent string) string {
	if t, ok := d.q.Current(agent); ok {
		return t.ID
	}
	return ""
}

// Tasks is every task of the queue, for the egress proxy's report.
func (d *Dispatcher) Tasks() []workqueue.Task { return d.q.List() }

// OverBudget ends the task agent holds: the gateway refused it for a budget.
func (d *Dispatcher) OverBudget(agent, why string) { d.q.OverBudget(agent, why, time.Now()) }

// FromAgent answers an agent's own socket: /magents/queue/next, /magents/queue/report and
// /magents/queue/bundle.
func (d *Dispatcher) FromAgent(w http.ResponseWriter, r *http.Request, agent string) {
	if d.key != nil && !agenttoken.Valid(d.key, agent, agenttoken.Presented(r)) {
		http.Error(w, "docker-magents dispatcher: this is not "+agent+"'s token", http.StatusUnauthorized)
		return
	}
	if r.Method != http.MethodPost {
		http.Error(w, "POST", http.StatusMethodNotAllowed)
		return
	}
	switch r.URL.Path {
	case "/magents/queue/next":
		// ?wait=D: a long poll, answered as soon as a task is there for the agent.
		wait, _ := time.ParseDuration(r.URL.Query().Get("wait"))
		deadline := time.NewTimer(min(max(wait, 0), time.Minute))
		defer deadline.Stop()
		for {
			queued := d.q.Queued()
			if t, ok := d.q.Next(agent, d.now(), d.Blocked(agent)); ok {
				writeJSON(w, t.Assignment())
				return
			}
			select {
			case <-queued:
			case <-deadline.C:
				w.WriteHeader(http.StatusNoContent)
				return
			case <-r.Context().Done():
				return
			}
		}
	case "/magents/queue/report":
		var rep workqueue.Report
		if err := json.NewDecoder(io.LimitReader(r.Body, 2*workqueue.MaxResult)).Decode(&rep); err != nil {
			http.Error(w, "a task report: "+err.Error(), http.StatusBadRequest)
			return
		}
		before, _ := d.q.Get(rep.ID)
		ans, err := d.q.Report(agent, rep, d.now())
		if err != nil {
			// Not its task (any longer): it leaves it.
			writeJSON(w, workqueue.Answer{Stop: true, Reason: err.Error()})
			return
		}
		// Pushed once, when the task becomes done (a repeated report pushes nothing).
		if t, ok := d.q.Get(rep.ID); ok && before.AssignedTo == agent && before.State != workqueue.Done && t.State == workqueue.Done && t.Push {
			go d.pushTask(t)
		}
		writeJSON(w, ans)
	case "/magents/queue/bundle":
		d.takeBundle(w, r, agent)
	default:
		http.NotFound(w, r)
	}
}

// FromOperator answers the proxy's own port: GET /magents/queue lists every task; POST
// adds those given (a JSON list); POST /magents/queue/cancel and /retry take ?id=.
func (d *Dispatcher) FromOperator(w http.ResponseWriter, r *http.Request) {
	now := d.now()
	switch {
	case r.URL.Path == "/magents/queue" && r.Method == http.MethodGet:
		writeJSON(w, d.q.List())
	case r.URL.Path == "/magents/queue" && r.Method == http.MethodPost:
		var in []workqueue.NewTask
		if err := json.NewDecoder(io.LimitReader(r.Body, 64<<20)).Decode(&in); err != nil {
			protocol.WriteError(w, http.StatusBadRequest, "tasks: "+err.Error())
			return
		}
		added, err := d.q.Add(now, in...)
		if err != nil {
			protocol.WriteError(w, http.StatusBadRequest, err.Error())
			return
		}
		writeJSON(w, added)
	case (r.URL.Path == "/magents/queue/cancel" || r.URL.Path == "/magents/queue/retry") && r.Method == http.MethodPost:
		id := r.URL.Query().Get("id")
		var t workqueue.Task
		var err error
		if strings.HasSuffix(r.URL.Path, "cancel") {
			t, err = d.q.Cancel(id, now)
		} else {
			t, err = d.q.Retry(id)
		}
		if err != nil {
			protocol.WriteError(w, http.StatusConflict, err.Error())
			return
		}
		writeJSON(w, t)
	default:
		protocol.WriteError(w, http.StatusNotFound, "docker-magents dispatcher: GET or POST /magents/queue, POST /magents/queue/cancel or /retry?id=")
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
