package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/docker-magents/docker-magents/images/supervisor/workqueue"
)

// The dispatcher is the egress proxy's third role (MAGENTS_QUEUE_STATE set): it keeps the
// fleet's work queue in a file beside the agents' sockets and runs it. An agent's
// supervisor asks for its next task through its own socket when its agent is idle, and
// reports on that task alone (the socket names the agent, and the agent's token must
// match); the fleet's operator adds, lists, cancels and retries tasks on the proxy's own
// port, through exec. It has no Docker socket and needs none.
type dispatcher struct {
	q   *workqueue.Queue
	key []byte // the agents' tokens are signed with it; nil: the socket alone names them
	// blocked says an agent may not get new work (its budget is spent).
	blocked func(agent string) bool
	now     func() time.Time
}

func newDispatcher(path string, key []byte) (*dispatcher, error) {
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("work queue: %w", err)
	}
	q, err := workqueue.Load(data)
	if err != nil {
		return nil, fmt.Errorf("work queue: %s is not a queue this supervisor reads (%v): move it away to start an empty one", path, err)
	}
	return &dispatcher{q: q, key: key, blocked: func(string) bool { return false }, now: time.Now}, nil
}

// run saves the queue after each change and fails tasks past their timeout, until ctx ends.
func (d *dispatcher) run(ctx context.Context, path string) {
	save := func() {
		b, err := d.q.MarshalJSON()
		if err == nil {
			err = writeFileAtomic(path, b, 0o600)
		}
		if err != nil {
			logf("work queue: saving: %v", err)
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
				logf("work queue: %s ran past its timeout", id)
			}
		}
	}
}

// current is the task agent works on ("" for none), for the gateway's account.
func (d *dispatcher) current(agent string) string {
	if t, ok := d.q.Current(agent); ok {
		return t.ID
	}
	return ""
}

// fromAgent answers an agent's own socket: /magents/queue/next and /magents/queue/report.
func (d *dispatcher) fromAgent(w http.ResponseWriter, r *http.Request, agent string) {
	if d.key != nil && presented(r) != agentToken(d.key, agent) {
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
			if t, ok := d.q.Next(agent, d.now(), d.blocked(agent)); ok {
				writeJSON(w, t)
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
		ans, err := d.q.Report(agent, rep, d.now())
		if err != nil {
			// Not its task (any longer): it leaves it.
			writeJSON(w, workqueue.Answer{Stop: true, Reason: err.Error()})
			return
		}
		writeJSON(w, ans)
	default:
		http.NotFound(w, r)
	}
}

// fromOperator answers the proxy's own port: GET /magents/queue lists every task; POST
// adds those given (a JSON list); POST /magents/queue/cancel and /retry take ?id=.
func (d *dispatcher) fromOperator(w http.ResponseWriter, r *http.Request) {
	now := d.now()
	switch {
	case r.URL.Path == "/magents/queue" && r.Method == http.MethodGet:
		writeJSON(w, d.q.List())
	case r.URL.Path == "/magents/queue" && r.Method == http.MethodPost:
		var in []workqueue.NewTask
		if err := json.NewDecoder(io.LimitReader(r.Body, 64<<20)).Decode(&in); err != nil {
			http.Error(w, "tasks: "+err.Error(), http.StatusBadRequest)
			return
		}
		added, err := d.q.Add(now, in...)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
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
			http.Error(w, err.Error(), http.StatusConflict)
			return
		}
		writeJSON(w, t)
	default:
		http.Error(w, "docker-magents dispatcher: GET or POST /magents/queue, POST /magents/queue/cancel or /retry?id=", http.StatusNotFound)
	}
}

// queueCommand is `magents-supervisor queue …`, run in the proxy's container.
func queueCommand(args []string) int {
	switch {
	case len(args) == 1 && args[0] == "ls":
		return askProxy(http.MethodGet, "/magents/queue", nil, os.Stdout)
	case len(args) == 1 && args[0] == "add":
		return askProxy(http.MethodPost, "/magents/queue", os.Stdin, os.Stdout)
	case len(args) == 2 && (args[0] == "cancel" || args[0] == "retry"):
		return askProxy(http.MethodPost, "/magents/queue/"+args[0]+"?id="+url.QueryEscape(args[1]), nil, os.Stdout)
	}
	fmt.Fprint(os.Stderr, "usage: magents-supervisor queue ls|add|cancel ID|retry ID\n")
	return 2
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
