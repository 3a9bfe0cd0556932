package main

import (
	"bufio"
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

func headless(cfg config) bool {
	return isTrue(os.Getenv("MAGENTS_HEADLESS")) || isTrue(os.Getenv(agentenv.Headless))
}

func resultDir(cfg config) string  { return filepath.Join(cfg.ClaudeConfigDir, "magents") }
func resultFile(cfg config) string { return filepath.Join(resultDir(cfg), "result.json") }

// readResult returns the finished headless run, if any.
func readResult(cfg config) (*Result, bool) {
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
func runHeadless(cfg config, env []string) {
	if err := os.MkdirAll(resultDir(cfg), 0o700); err != nil {
		fail(err)
	}
	task := startTask(os.Getenv)
	if task == "" {
		task = waitForTask(cfg)
	}
	transcript := filepath.Join(resultDir(cfg), "transcript.jsonl")
	out, err := os.Create(transcript)
	if err != nil {
		fail(err)
	}
	cmd := exec.Command("claude", "-p", task, "--output-format", "stream-json", "--verbose")
	cmd.Env, cmd.Stderr = env, os.Stderr
	pipe, err := cmd.StdoutPipe()
	if err != nil {
		fail(err)
	}
	if err := cmd.Start(); err != nil {
		fail(err)
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
	out.Close()
	res.ExitCode = cmd.ProcessState.ExitCode()
	if err != nil && res.ExitCode == 0 {
		res.ExitCode = 1
	}
	res.FinishedAt = time.Now().UTC()
	b, _ := json.MarshalIndent(res, "", "  ")
	if err := writeFileAtomic(resultFile(cfg), append(b, '\n'), 0o600); err != nil {
		logf("saving the result: %v", err)
	}
	fmt.Printf("\nheadless task finished: exit %d\n", res.ExitCode)
	os.Exit(res.ExitCode)
}

// queuedTask is where `magents-supervisor task` leaves the task of a headless agent that
// has none yet; waitingMarker says, for health, that it waits for one.
func queuedTask(cfg config) string    { return filepath.Join(resultDir(cfg), "task") }
func waitingMarker(cfg config) string { return filepath.Join(cfg.RunDir, "headless-waiting") }

// waitForTask waits, idle, until a task is queued (docker magents task, later the work
// queue) and returns it: a headless agent started without a task is not an error.
func waitForTask(cfg config) string {
	logf("no task yet: waiting for one (docker magents task AGENT TEXT)")
	fmt.Println("headless agent: waiting for a task (docker magents task AGENT TEXT)")
	if err := os.WriteFile(waitingMarker(cfg), nil, 0o644); err != nil {
		fail(err)
	}
	kick(cfg)
	defer os.Remove(waitingMarker(cfg))
	for {
		if b, err := os.ReadFile(queuedTask(cfg)); err == nil {
			if task := strings.TrimSpace(string(b)); task != "" {
				_ = os.Remove(queuedTask(cfg))
				logf("task received")
				return task
			}
		}
		time.Sleep(time.Second)
	}
}

// queueTask gives a headless agent its task: the one it waits for, or refused when it has
// one already.
func queueTask(cfg config, task string) error {
	if _, done := readResult(cfg); done {
		return fmt.Errorf("this headless agent finished its task (docker magents results): a headless agent runs one task")
	}
	if !fileExists(waitingMarker(cfg)) {
		return fmt.Errorf("this headless agent is at work on its task: a headless agent runs one task")
	}
	// Written aside, then linked into place: the agent never reads half a task, and of two
	// tasks given at once only the first is taken.
	tmp := queuedTask(cfg) + ".new"
	if err := writeFileAtomic(tmp, []byte(task+"\n"), 0o600); err != nil {
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

// printResult is `magents-supervisor result`.
func printResult(cfg config) int {
	b, err := os.ReadFile(resultFile(cfg))
	if err != nil {
		logf("no result: this agent has not finished a headless task")
		return 1
	}
	os.Stdout.Write(b)
	return 0
}
