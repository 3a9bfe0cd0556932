package agent

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/docker-magents/docker-magents/images/supervisor/agentenv"
	"github.com/docker-magents/docker-magents/images/supervisor/atomicfile"
	"github.com/docker-magents/docker-magents/images/supervisor/envvar"
	"github.com/docker-magents/docker-magents/images/supervisor/logs"
	"github.com/docker-magents/docker-magents/images/supervisor/workqueue"
)

// Result is what a headless run leaves in the agent's config volume (result.json), and
// what `docker magents results` prints.
type Result struct {
	Task       string    `json:"task"`
	ExitCode   int       `json:"exitCode"`
	Result     string    `json:"result"` // Claude's final text
	IsError    bool      `json:"isError"`
	FinishedAt time.Time `json:"finishedAt"`
	Transcript string    `json:"transcript"` // the stream-json transcript's path in the agent
}

func headless(cfg Config) bool {
	return envvar.IsTrue(os.Getenv(agentenv.HeadlessAlias)) || envvar.IsTrue(os.Getenv(agentenv.Headless))
}

func resultDir(cfg Config) string  { return filepath.Join(cfg.ClaudeConfigDir, "magents") }
func resultFile(cfg Config) string { return filepath.Join(resultDir(cfg), "result.json") }

// readResult returns the finished headless run, if any.
func readResult(cfg Config) (*Result, bool) {
	b, err := os.ReadFile(resultFile(cfg))
	if err != nil {
		return nil, false
	}
	var r Result
	if json.Unmarshal(b, &r) != nil {
		return nil, false
	}
	return &r, true
}

// runHeadless runs `claude -p TASK --output-format stream-json --verbose` with the agent's
// environment, shows the stream in the session, keeps the transcript and the result in
// the agent's volume, and exits with Claude's status.
//
// Without a task it waits for one; behind the fleet's egress proxy (or with a cluster's
// gateway) it meanwhile takes tasks
// from the fleet's work queue, one `claude -p` each (headlessQueue).
func runHeadless(cfg Config, env []string) {
	if err := os.MkdirAll(resultDir(cfg), 0o700); err != nil {
		fail(err)
	}
	task := startTask(os.Getenv)
	switch {
	case task != "":
	case os.Getenv(agentenv.AgentTokenFile) != "" && (os.Getenv(agentenv.EgressSocket) != "" || os.Getenv(agentenv.DispatcherURL) != ""):
		task = headlessQueue(cfg, env)
	default:
		task = waitForTask(cfg)
	}
	transcript := filepath.Join(resultDir(cfg), "transcript.jsonl")
	res, err := runClaudeP(context.Background(), env, task, transcript)
	if err != nil {
		fail(err)
	}
	b, _ := json.MarshalIndent(res, "", "  ")
	if err := atomicfile.Write(resultFile(cfg), append(b, '\n'), 0o600); err != nil {
		logs.Printf("saving the result: %v", err)
	}
	fmt.Printf("\nheadless task finished: exit %d\n", res.ExitCode)
	os.Exit(res.ExitCode)
}

// runClaudeP runs `claude -p TASK --output-format stream-json --verbose` with env, shows
// the stream, keeps it in transcript, and returns the result; ctx ending kills Claude.
func runClaudeP(ctx context.Context, env []string, task, transcript string) (Result, error) {
	out, err := os.Create(transcript)
	if err != nil {
		return Result{}, err
	}
	defer out.Close()
	cmd := exec.CommandContext(ctx, "claude", "-p", task, "--output-format", "stream-json", "--verbose")
	cmd.Env, cmd.Stderr = env, os.Stderr
	// Stopped, its children may hold its output open: the wait ends anyway.
	cmd.WaitDelay = 5 * time.Second
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		return Result{}, err
	}
	if err := cmd.Start(); err != nil {
		return Result{}, err
	}
	res := Result{Task: task, Transcript: transcript}
	sc := bufio.NewScanner(io.TeeReader(pipe, out))
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		var ev struct {
			Type    string `json:"type"`
			Result  string `json:"result"`
			IsError bool   `json:"is_error"`
		}
		if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.Type == "result" {
			res.Result, res.IsError = ev.Result, ev.IsError
		}
		fmt.Println(sc.Text())
	}
	err = cmd.Wait()
	res.ExitCode = cmd.ProcessState.ExitCode()
	if err != nil && res.ExitCode == 0 {
		res.ExitCode = 1
	}
	res.FinishedAt = time.Now().UTC()
	return res, nil
}

// headlessQueue takes the fleet's queued tasks one at a time, each a `claude -p` of its
// own (a fresh conversation) on its own branch, reporting each, until a task is given to
// the agent itself (docker magents task), which it returns: that is its one task.
func headlessQueue(cfg Config, env []string) string {
	ctx := context.Background()
	w, err := newQueueWorker(cfg, os.Getenv)
	if err != nil {
		logs.Printf("work queue: %v", err)
		return waitForTask(cfg)
	}
	fmt.Println("headless agent: waiting for a task (docker magents task AGENT TEXT), taking the fleet's queued ones meanwhile")
	for {
		_ = os.WriteFile(waitingMarker(cfg), nil, 0o644)
		kick(cfg)
		asking, cancel := context.WithCancel(ctx)
		given := make(chan string, 1)
		watched := make(chan struct{})
		go func() {
			defer close(watched)
			for {
				if task := takeGivenTask(cfg); task != "" {
					given <- task
					cancel()
					return
				}
				if !sleep(asking, time.Second) {
					return
				}
			}
		}()
		task, ok, err := w.next(asking)
		cancel()
		<-watched // a task given meanwhile is in given now, never lost
		select {
		case t := <-given:
			_ = os.Remove(waitingMarker(cfg))
			if ok {
				// Both at once: the queued one goes back for another agent.
				w.report(ctx, workqueue.Report{ID: task.ID, State: workqueue.Failed, Error: "its agent was given a task of its own at the same moment"})
			}
			logs.Printf("task received")
			return t
		default:
		}
		if err != nil {
			sleep(ctx, 5*time.Second)
			continue
		}
		if !ok {
			continue
		}
		_ = os.Remove(waitingMarker(cfg))
		kick(cfg)
		w.runHeadlessTask(ctx, env, task)
	}
}

// runHeadlessTask runs one queued task with claude -p, reporting it working every few
// seconds (and stopping Claude when the dispatcher takes it back), then done or failed.
func (w *queueWorker) runHeadlessTask(ctx context.Context, env []string, task workqueue.Task) {
	logs.Printf("work queue: %s", task.ID)
	fmt.Printf("\n%s: %s\n", task.ID, task.Prompt)
	branch, base, err := w.startBranch(task)
	if err != nil {
		w.report(ctx, workqueue.Report{ID: task.ID, State: workqueue.Failed, Error: err.Error()})
		return
	}
	run, cancel := context.WithCancel(ctx)
	defer cancel()
	stopped := make(chan bool, 1)
	go func() {
		taken := false
		for {
			if w.report(ctx, workqueue.Report{ID: task.ID, State: workqueue.Working, Branch: branch, Base: base}) {
				taken = true
				cancel()
			}
			if taken || !sleep(run, 5*time.Second) {
				stopped <- taken
				return
			}
		}
	}()
	res, err := runClaudeP(run, env, task.Prompt, filepath.Join(resultDir(w.cfg), task.ID+".jsonl"))
	cancel()
	if <-stopped {
		return // taken back: nothing more to report
	}
	r := workqueue.Report{ID: task.ID, Branch: branch, Base: base, State: workqueue.Done, Result: res.Result}
	switch {
	case err != nil:
		r.State, r.Error = workqueue.Failed, "running claude -p: "+err.Error()
	case res.ExitCode != 0 || res.IsError:
		r.State, r.Error = workqueue.Failed, fmt.Sprintf("claude -p exited %d: %s", res.ExitCode, res.Result)
	default:
		r.DiffStat = w.finishBranch(task, base)
		if task.Push && branch != "" {
			if err := w.handOver(ctx, task.ID, branch); err != nil {
				logs.Printf("work queue: handing %s over to be pushed: %v", branch, err)
			}
		}
	}
	w.report(ctx, r)
	fmt.Printf("%s: %s\n", task.ID, r.State)
}

// queuedTask is where `magents-supervisor task` leaves the task of a headless agent that
// has none yet; waitingMarker says, for health, that it waits for one.
func queuedTask(cfg Config) string    { return filepath.Join(resultDir(cfg), "task") }
func waitingMarker(cfg Config) string { return filepath.Join(cfg.RunDir, "headless-waiting") }

// waitForTask waits, idle, until a task is queued (docker magents task, later the work
// queue) and returns it: a headless agent started without a task is not an error.
func waitForTask(cfg Config) string {
	logs.Printf("no task yet: waiting for one (docker magents task AGENT TEXT)")
	fmt.Println("headless agent: waiting for a task (docker magents task AGENT TEXT)")
	if err := os.WriteFile(waitingMarker(cfg), nil, 0o644); err != nil {
		fail(err)
	}
	kick(cfg)
	defer os.Remove(waitingMarker(cfg))
	for {
		if task := takeGivenTask(cfg); task != "" {
			logs.Printf("task received")
			return task
		}
		time.Sleep(time.Second)
	}
}

// takeGivenTask takes the task docker magents task left for the agent, if any.
func takeGivenTask(cfg Config) string {
	b, err := os.ReadFile(queuedTask(cfg))
	if err != nil {
		return ""
	}
	task := strings.TrimSpace(string(b))
	if task != "" {
		_ = os.Remove(queuedTask(cfg))
	}
	return task
}

// queueTask gives a headless agent its task: the one it waits for, or refused when it has
// one already.
func queueTask(cfg Config, task string) error {
	if _, done := readResult(cfg); done {
		return fmt.Errorf("this headless agent finished its task (docker magents results): a headless agent runs one task")
	}
	if !fileExists(waitingMarker(cfg)) {
		return fmt.Errorf("this headless agent is at work on its task: a headless agent runs one task")
	}
	// Written aside, then linked into place: the agent never reads half a task, and of two
	// tasks given at once only the first is taken.
	tmp := queuedTask(cfg) + ".new"
	if err := atomicfile.Write(tmp, []byte(task+"\n"), 0o600); err != nil {
		return err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, queuedTask(cfg)); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("this headless agent has its task already: a headless agent runs one task")
		}
		return err
	}
	return nil
}

// PrintResult is `magents-supervisor result`.
func PrintResult(cfg Config) int {
	b, err := os.ReadFile(resultFile(cfg))
	if err != nil {
		logs.Printf("no result: this agent has not finished a headless task")
		return 1
	}
	os.Stdout.Write(b)
	return 0
}
