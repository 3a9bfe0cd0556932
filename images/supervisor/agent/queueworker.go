package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/docker-magents/docker-magents/images/supervisor/agentenv"
	"github.com/docker-magents/docker-magents/images/supervisor/agentstate"
	"github.com/docker-magents/docker-magents/images/supervisor/credential"
	"github.com/docker-magents/docker-magents/images/supervisor/gitcmd"
	"github.com/docker-magents/docker-magents/images/supervisor/logs"
	"github.com/docker-magents/docker-magents/images/supervisor/workqueue"
)

// The agent's side of the fleet's work queue (behind the egress proxy, whose dispatcher
// keeps the queue): whenever Claude is idle, the supervisor asks for the next task over the
// agent's own socket — a long poll, so a task added later is typed at once — and runs it:
// its own branch from the fleet's base as the host has it now (clone and worktree
// isolation), a fresh conversation (/clear), the task typed in; then it reports the task's
// state as Claude's hooks tell it, and when the turn ends, Claude's last message, the
// branch and its diff stat. It reports on its own task only, and leaves it when the
// dispatcher says so (cancelled, timed out).
type queueWorker struct {
	cfg    Config
	getenv func(string) string
	client *http.Client // the agent's socket, or the network; no timeout: the long poll sets its own
	base   string       // the dispatcher's URL: http://egress-proxy through the socket
	token  string
}

// queuePoll is how long one ask for a task waits at the dispatcher.
const queuePoll = 50 * time.Second

// run works the queue until ctx ends.
func (w *queueWorker) run(ctx context.Context) {
	wait := newWaiter(ctx)
	defer wait.close()
	var logged time.Time
	for ctx.Err() == nil {
		hs, hooked := readHookState(w.cfg)
		if !hooked || hs.State != agentstate.Idle {
			wait.wait(time.Minute) // kicked by the hooks when the state changes
			continue
		}
		task, ok, err := w.next(ctx)
		switch {
		case err != nil:
			// The proxy is starting or restarting — or unreachable: said once a minute.
			if time.Since(logged) > time.Minute {
				logs.Printf("work queue: asking %s for a task: %v", w.base, err)
				logged = time.Now()
			}
			sleep(ctx, 5*time.Second)
			continue
		case !ok:
			continue
		}
		w.work(ctx, wait, task)
	}
}

func (w *queueWorker) post(ctx context.Context, path string, body any, timeout time.Duration) (*http.Response, error) {
	var in io.Reader = http.NoBody
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		in = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.base+path, in)
	if err != nil {
		cancel()
		return nil, err
	}
	req.Header.Set("Authorization", "Bearer "+w.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := w.client.Do(req)
	if err != nil {
		cancel()
		return nil, err
	}
	resp.Body = cancelOnClose{resp.Body, cancel}
	return resp, nil
}

// cancelOnClose is a response body whose request's context ends when it is closed.
type cancelOnClose struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c cancelOnClose) Close() error {
	defer c.cancel()
	return c.ReadCloser.Close()
}

// next asks the dispatcher for this agent's next task, waiting up to queuePoll for one.
func (w *queueWorker) next(ctx context.Context) (workqueue.Task, bool, error) {
	var t workqueue.Task
	resp, err := w.post(ctx, fmt.Sprintf("/magents/queue/next?wait=%ds", int(queuePoll.Seconds())), nil, queuePoll+10*time.Second)
	if err != nil {
		return t, false, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusNoContent:
		return t, false, nil
	case http.StatusUnauthorized:
		// The fleet has a new key (its credential was cleared, then given again): the
		// proxy wrote this agent its new token.
		if tok, err := credential.ReadGatewayToken(w.getenv(agentenv.AgentTokenFile), 0); err == nil {
			w.token = tok
		}
	case http.StatusOK:
		err := json.NewDecoder(io.LimitReader(resp.Body, 2*workqueue.MaxPrompt)).Decode(&t)
		return t, err == nil && t.ID != "", err
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
	return t, false, fmt.Errorf("the dispatcher answered %s: %s", resp.Status, bytes.TrimSpace(b))
}

// report tells the dispatcher how the task stands; stop says to leave it. A task's end
// is said until the dispatcher has it (the proxy may be restarting): else the task would
// be given again and its work redone.
func (w *queueWorker) report(ctx context.Context, r workqueue.Report) (stop bool) {
	resp, err := w.post(ctx, "/magents/queue/report", r, 10*time.Second)
	for deadline := time.Now().Add(5 * time.Minute); err != nil && r.State.Final() && time.Now().Before(deadline); {
		if !sleep(ctx, 2*time.Second) {
			break
		}
		resp, err = w.post(ctx, "/magents/queue/report", r, 10*time.Second)
	}
	if err != nil {
		return false // the proxy restarts: the next report says it again
	}
	defer resp.Body.Close()
	var a workqueue.Answer
	if json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&a) != nil {
		return false
	}
	if a.Stop {
		logs.Printf("work queue: leaving %s: %s", r.ID, a.Reason)
	}
	return a.Stop
}

// work runs one task to its end, or until the dispatcher takes it back.
func (w *queueWorker) work(ctx context.Context, wait *waiter, task workqueue.Task) {
	logs.Printf("work queue: %s", task.ID)
	t := tmux{session: w.cfg.Session}
	branch, base, err := w.startBranch(task)
	if err != nil {
		w.report(ctx, workqueue.Report{ID: task.ID, State: workqueue.Failed, Error: err.Error()})
		return
	}
	if err := clearConversation(ctx, w.cfg, t); err != nil {
		w.report(ctx, workqueue.Report{ID: task.ID, State: workqueue.Failed, Error: err.Error()})
		return
	}
	typed := time.Now()
	if err := typeTask(ctx, w.cfg, t, task.Prompt); err != nil {
		w.report(ctx, workqueue.Report{ID: task.ID, State: workqueue.Failed, Error: "typing the task: " + err.Error()})
		return
	}
	var sent workqueue.State
	var sentAt time.Time
	for ctx.Err() == nil {
		r := workqueue.Report{ID: task.ID, Branch: branch, Base: base, State: workqueue.Working}
		hs, hooked := readHookState(w.cfg)
		fresh := hooked && !hs.At.Before(typed)
		switch {
		case !fresh:
		case hs.State == agentstate.Waiting:
			r.State, r.Detail = workqueue.Waiting, hs.Detail
		case hs.State == agentstate.Idle && hs.Event == "Stop":
			r.State, r.Result = workqueue.Done, hs.Result
		case hs.State == agentstate.Idle && hs.Event == "StopFailure":
			r.State, r.Error = workqueue.Failed, "Claude's turn ended on an API error: "+hs.Failure
		case hs.State == agentstate.Idle && hs.Event == "SessionStart":
			r.State, r.Error = workqueue.Failed, "Claude's session ended during the task"
		}
		if r.State == workqueue.Done {
			r.DiffStat = w.finishBranch(task, base)
			if task.Push && branch != "" {
				if err := w.handOver(ctx, task.ID, branch); err != nil {
					logs.Printf("work queue: handing %s over to be pushed: %v", branch, err)
				}
			}
		}
		if r.State != sent || time.Since(sentAt) > 5*time.Second || r.State.Final() {
			if w.report(ctx, r) {
				if !r.State.Final() {
					// Taken back while Claude works: a new session ends the turn for sure
					// (an interrupt may leave a request in flight, and runs no hook).
					w.restartClaude(ctx)
				}
				return
			}
			sent, sentAt = r.State, time.Now()
		}
		if r.State.Final() {
			return
		}
		wait.wait(5 * time.Second)
	}
}

// restartClaude restarts Claude's session and waits until the new one is at its prompt.
func (w *queueWorker) restartClaude(ctx context.Context) {
	asked := time.Now()
	RequestRestart(w.cfg)
	started, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for {
		if hs, ok := readHookState(w.cfg); ok && hs.Event == "SessionStart" && !hs.At.Before(asked) {
			return
		}
		if !sleep(started, 300*time.Millisecond) {
			logs.Printf("work queue: Claude's new session did not start within 2 minutes")
			return
		}
	}
}

// handOver gives the dispatcher a bundle of the task's branch, which it pushes (the agent
// holds no credential to push with).
func (w *queueWorker) handOver(ctx context.Context, id, branch string) error {
	f, err := os.CreateTemp("", "magents-"+id+"-*.bundle")
	if err != nil {
		return err
	}
	path := f.Name()
	f.Close()
	defer os.Remove(path)
	if err := gitcmd.Run(w.cfg.Workspace, "bundle", "create", "--quiet", path, "refs/heads/"+branch); err != nil {
		return err
	}
	b, err := os.Open(path)
	if err != nil {
		return err
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.base+"/magents/queue/bundle?id="+url.QueryEscape(id), b)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+w.token)
	resp, err := w.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 1024))
		return fmt.Errorf("the dispatcher answered %s: %s", resp.Status, bytes.TrimSpace(msg))
	}
	return nil
}

// clearConversation starts a fresh conversation (/clear) and waits until Claude has.
func clearConversation(ctx context.Context, cfg Config, t tmux) error {
	if !claudeCommand(cfg.AgentCmd) {
		return nil
	}
	if err := waitReady(ctx, t, 2*time.Minute); err != nil {
		return err
	}
	sent := time.Now()
	if _, err := t.run("send-keys", "-t", t.paneTarget(), "-l", "--", "/clear"); err != nil {
		return err
	}
	sleep(ctx, 300*time.Millisecond)
	if _, err := t.run("send-keys", "-t", t.paneTarget(), "Enter"); err != nil {
		return err
	}
	cleared, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		if hs, ok := readHookState(cfg); ok && hs.Event == "SessionStart" && !hs.At.Before(sent) {
			return nil
		}
		if !sleep(cleared, 200*time.Millisecond) {
			return fmt.Errorf("Claude did not start a fresh conversation (/clear) within 30s")
		}
	}
}

// startBranch puts the workspace on the task's own branch, magents/TASK-ID, from the
// fleet's base as the origin (the host's repository, read-only) has it now; what the last
// task left uncommitted is committed on that task's branch first. Nothing in shared
// isolation (no clone of its own): tasks run one after another in the shared tree.
func (w *queueWorker) startBranch(task workqueue.Task) (branch, base string, err error) {
	if w.getenv(agentenv.CloneFrom) == "" {
		return "", "", nil
	}
	ws := w.cfg.Workspace
	if err := commitLeftovers(ws, "magents: what Claude left uncommitted"); err != nil {
		return "", "", err
	}
	from := w.getenv(agentenv.CloneBase)
	if from == "" {
		from = "HEAD"
	}
	if err := gitcmd.Run(ws, "fetch", "--quiet", "origin", from); err != nil {
		return "", "", fmt.Errorf("fetching the fleet's base %s: %w", from, err)
	}
	base, err = gitcmd.Output(ws, "rev-parse", "FETCH_HEAD")
	if err != nil {
		return "", "", err
	}
	branch = "magents/" + task.ID
	if gitcmd.Run(ws, "rev-parse", "--verify", "--quiet", "refs/heads/"+branch) == nil {
		// Given again (the agent restarted before its report reached the dispatcher): go on
		// from the work on the branch, never reset it.
		if err := gitcmd.Run(ws, "checkout", "--quiet", branch); err != nil {
			return "", "", fmt.Errorf("going back to %s: %w", branch, err)
		}
		if mb, err := gitcmd.Output(ws, "merge-base", branch, base); err == nil {
			base = mb
		}
		return branch, base, nil
	}
	if err := gitcmd.Run(ws, "checkout", "--quiet", "-b", branch, base); err != nil {
		return "", "", fmt.Errorf("starting %s: %w", branch, err)
	}
	return branch, base, nil
}

// finishBranch commits what Claude left uncommitted and returns the branch's diff stat
// against its base.
func (w *queueWorker) finishBranch(task workqueue.Task, base string) string {
	if base == "" {
		return ""
	}
	ws := w.cfg.Workspace
	if err := commitLeftovers(ws, "magents: "+task.ID+" (what Claude left uncommitted)"); err != nil {
		return "committing what Claude left: " + err.Error()
	}
	stat, err := gitcmd.Output(ws, "diff", "--stat", base, "HEAD")
	if err != nil {
		return err.Error()
	}
	return stat
}

// commitLeftovers commits every change in the work tree, when there is one.
func commitLeftovers(ws, msg string) error {
	out, err := gitcmd.Output(ws, "status", "--porcelain")
	if err != nil || out == "" {
		return err
	}
	if err := gitcmd.Run(ws, "add", "-A"); err != nil {
		return err
	}
	return gitcmd.Run(ws, "commit", "--quiet", "--no-verify", "-m", msg)
}
