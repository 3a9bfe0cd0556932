package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/docker-magents/docker-magents/images/supervisor/agenttoken"
	"github.com/docker-magents/docker-magents/images/supervisor/atomicfile"
	"github.com/docker-magents/docker-magents/images/supervisor/gitcmd"
	"github.com/docker-magents/docker-magents/images/supervisor/httprelay"
	"github.com/docker-magents/docker-magents/images/supervisor/logs"
	"github.com/docker-magents/docker-magents/images/supervisor/protocol"
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
	// Pushing a done task's branch (queue add --push): the fleet's git credentials (a
	// file in git's store format) and where the agents' bundles and the dispatcher's own
	// bare repository go (beside the queue, on the state volume: disk, not memory).
	gitCredentials string
	pushDir        string
	pushing        sync.Mutex // one push at a time
	uploads        chan struct{}
	uploading      sync.Map // agent → struct{}: its one upload under way
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
	return &dispatcher{q: q, key: key, blocked: func(string) bool { return false }, now: time.Now, uploads: make(chan struct{}, 4)}, nil
}

// run saves the queue after each change and fails tasks past their timeout, until ctx ends.
func (d *dispatcher) run(ctx context.Context, path string) {
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

// current is the task agent works on ("" for none), for the gateway's account.
func (d *dispatcher) current(agent string) string {
	if t, ok := d.q.Current(agent); ok {
		return t.ID
	}
	return ""
}

// fromAgent answers an agent's own socket: /magents/queue/next and /magents/queue/report.
func (d *dispatcher) fromAgent(w http.ResponseWriter, r *http.Request, agent string) {
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
			if t, ok := d.q.Next(agent, d.now(), d.blocked(agent)); ok {
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

// maxBundle bounds a task branch's bundle an agent hands over to be pushed; uploadIdle is
// how long an upload may send nothing before it is dropped.
const (
	maxBundle = 512 << 20
	bundleV2  = "# v2 git bundle\n"
	bundleV3  = "# v3 git bundle\n"
)

var uploadIdle = 30 * time.Second // a variable for the tests

// takeBundle keeps the bundle of the agent's task branch (?id=), to push once the task is
// done: only for the agent's own task, and one that asked to be pushed.
func (d *dispatcher) takeBundle(w http.ResponseWriter, r *http.Request, agent string) {
	id := r.URL.Query().Get("id")
	t, ok := d.q.Current(agent)
	if !ok || t.ID != id || !t.Push {
		http.Error(w, fmt.Sprintf("%s has no task %s to push", agent, id), http.StatusConflict)
		return
	}
	// One at a time per agent, a few at a time in all (each holds a file open): the
	// others wait. An upload that sends nothing for uploadIdle gives its place up; a slow
	// one holds its own place alone, so agents uploading slowly leave the others theirs.
	if _, busy := d.uploading.LoadOrStore(agent, struct{}{}); busy {
		http.Error(w, agent+" is uploading a bundle already: one at a time", http.StatusConflict)
		return
	}
	defer d.uploading.Delete(agent)
	select {
	case d.uploads <- struct{}{}:
		defer func() { <-d.uploads }()
	case <-r.Context().Done():
		return
	}
	body := bufio.NewReader(httprelay.IdleBody(w, r.Body, uploadIdle))
	// A git bundle, or nothing: what is not one never reaches git (which would read a
	// path in it as a repository to fetch from).
	if header, err := body.Peek(len(bundleV2)); err != nil || string(header) != bundleV2 && string(header) != bundleV3 {
		http.Error(w, "not a git bundle (it starts with neither \"# v2 git bundle\" nor \"# v3 git bundle\")", http.StatusBadRequest)
		return
	}
	if err := os.MkdirAll(d.pushDir, 0o700); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	f, err := os.CreateTemp(d.pushDir, id+".*.bundle")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	_, err = io.Copy(f, http.MaxBytesReader(w, io.NopCloser(body), maxBundle))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(d.pushDir, id+".bundle"))
	}
	if err != nil {
		os.Remove(f.Name())
		http.Error(w, "the bundle: "+err.Error(), http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// pushTask pushes a done task's branch, from the bundle its agent handed over, to the
// task's remote with the fleet's git credentials: fetched, every object checked, into the
// dispatcher's own bare repository (its config and hooks are the dispatcher's, never an
// agent's), then pushed, never forced. How it went is the task's Pushed.
func (d *dispatcher) pushTask(t workqueue.Task) {
	how, err := d.push(t)
	if err != nil {
		how = "not pushed: " + err.Error()
		logs.Printf("work queue: %s %s", t.ID, how)
	}
	d.q.SetPushed(t.ID, how)
}

func (d *dispatcher) push(t workqueue.Task) (string, error) {
	d.pushing.Lock()
	defer d.pushing.Unlock()
	bundle := filepath.Join(d.pushDir, t.ID+".bundle")
	defer os.Remove(bundle)
	if _, err := os.Stat(bundle); err != nil {
		return "", errors.New("its agent handed over no bundle of the branch")
	}
	if d.gitCredentials == "" {
		return "", errors.New("the fleet has no git credentials (docker magents up --git-credentials FILE)")
	}
	// The task's own branch, whatever the agent reported, in a repository made for this
	// push alone (no other task's objects to build on).
	dir, err := os.MkdirTemp(d.pushDir, "push-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	repo := filepath.Join(dir, "repo.git")
	if err := gitcmd.Run("", "init", "--quiet", "--bare", repo); err != nil {
		return "", err
	}
	ref := "refs/heads/magents/" + t.ID
	if err := gitcmd.Run(repo, "-c", "transfer.fsckObjects=true", "fetch", "--quiet", "--no-tags", bundle, ref+":"+ref); err != nil {
		return "", err
	}
	// Every object checked, strictly (a fetch from a bundle does not on every git).
	if err := gitcmd.Run(repo, "fsck", "--strict", "--no-dangling", "--no-progress"); err != nil {
		return "", fmt.Errorf("the branch's objects do not pass git fsck: %w", err)
	}
	// A copy of the credentials for git's store helper, which writes back what worked.
	creds, err := os.ReadFile(d.gitCredentials)
	if err != nil {
		return "", fmt.Errorf("reading the fleet's git credentials: %w", err)
	}
	store := filepath.Join(dir, "git-credentials")
	if err := os.WriteFile(store, creds, 0o600); err != nil {
		return "", err
	}
	if err := gitcmd.Run(repo, "-c", "credential.helper=", "-c", "credential.helper=store --file="+store,
		"push", "--quiet", "--no-verify", t.PushURL, ref+":"+ref); err != nil {
		return "", err
	}
	return "pushed to " + redactURL(t.PushURL), nil
}

// redactURL is u without a password.
func redactURL(u string) string {
	if p, err := url.Parse(u); err == nil {
		return p.Redacted()
	}
	return u
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
