//go:build e2e

package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"gotest.tools/v3/icmd"

	"github.com/docker-magents/docker-magents/images"
)

// A plain detached agent turns healthy; killing its tmux server turns it unhealthy until
// the supervisor has started the session again.
func TestHealthcheckFollowsTheSession(t *testing.T) {
	everyEngine(t, "the engine runs the image's HEALTHCHECK and reports its state")
	parallelSuite(t)
	ensureImage(t, "latest")
	name := fmt.Sprintf("magents-e2e-health-%d", time.Now().UnixNano())
	removeContainer(t, name)
	// A long restart backoff keeps the session down for longer than a health interval.
	docker("run", "-d", "--name", name,
		"--health-interval", "1s", "--health-retries", "1", "--health-timeout", "3s", "--health-start-period", "0s",
		"-e", "MAGENTS_RESTART_BACKOFF=8s",
		images.Repository+":latest").Assert(t, icmd.Success)
	waitHealth(t, name, "healthy", 60*time.Second)

	// The guide's own command finds the session.
	docker("exec", name, "tmux", "has-session", "-t", "claude").Assert(t, icmd.Success)
	// Detached, with no one attached, Claude still reaches its prompt (no first-run screens).
	pane := waitFor(t, 30*time.Second, "the detached agent's pane to show Claude's prompt", func() (bool, string) {
		pane := docker("exec", name, "tmux", "capture-pane", "-p", "-t", "claude").Stdout()
		return strings.Contains(pane, "❯"), pane
	})
	if !strings.Contains(pane, "Claude Code v"+claudeVersion) {
		t.Errorf("the detached agent's pane does not show Claude's prompt:\n%s", pane)
	}

	docker("exec", name, "tmux", "kill-server").Assert(t, icmd.Success)
	waitHealth(t, name, "unhealthy", 15*time.Second)
	waitHealth(t, name, "healthy", 30*time.Second)

	res := docker("exec", name, "magents-supervisor", "health")
	res.Assert(t, icmd.Success)
	var h struct {
		Restarts int `json:"restarts"`
	}
	if err := json.Unmarshal([]byte(res.Stdout()), &h); err != nil || h.Restarts != 1 {
		t.Errorf("health after one restart = %s (%v)", res.Stdout(), err)
	}
	logs := docker("logs", name).Combined()
	if !strings.Contains(logs, "starting it again") {
		t.Errorf("the supervisor did not log the restart:\n%s", logs)
	}

	// docker stop: the supervisor ends the agent and exits 0 well within the stop timeout.
	start := time.Now()
	docker("stop", name).Assert(t, icmd.Success)
	docker("inspect", "-f", "{{.State.ExitCode}}", name).Assert(t, icmd.Expected{Out: "0"})
	if took := time.Since(start); took > 9*time.Second {
		t.Errorf("docker stop took %s: the supervisor did not handle SIGTERM", took)
	}
}

// The cloudrun target serves /healthz on $PORT.
func TestCloudRunHealthEndpoint(t *testing.T) {
	anyEngine(t, "the supervisor's HTTP health endpoint")
	parallelSuite(t)
	ensureImage(t, "cloudrun")
	name := fmt.Sprintf("magents-e2e-cloudrun-%d", time.Now().UnixNano())
	removeContainer(t, name)
	docker("run", "-d", "--name", name, images.Repository+":cloudrun").Assert(t, icmd.Success)
	waitHealth(t, name, "healthy", 60*time.Second)
	// Query from inside the container's network namespace with the supervisor's own
	// image tools: bash's /dev/tcp needs nothing installed.
	res := docker("exec", name, "bash", "-c",
		`exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /readyz HTTP/1.0\r\n\r\n' >&3 && cat <&3`)
	res.Assert(t, icmd.Success)
	if !strings.Contains(res.Stdout(), "200 OK") || !strings.Contains(res.Stdout(), `"status":"healthy"`) {
		t.Errorf("/readyz answered:\n%s", res.Stdout())
	}
	// /metrics in Prometheus' text format, as its own parser reads it.
	res = docker("exec", name, "bash", "-c",
		`exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3 && cat <&3`)
	res.Assert(t, icmd.Success)
	_, body, _ := strings.Cut(res.Stdout(), "\r\n\r\n")
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("/metrics does not parse: %v\n%s", err, res.Stdout())
	}
	if up := families["magents_agent_up"]; up == nil || up.GetMetric()[0].GetGauge().GetValue() != 1 {
		t.Errorf("magents_agent_up of a healthy agent: %v", up)
	}
	states := 0.0
	for _, m := range families["magents_agent_state"].GetMetric() {
		states += m.GetGauge().GetValue()
	}
	if states != 1 || families["magents_agent_session_restarts_total"].GetType().String() != "COUNTER" {
		t.Errorf("/metrics:\n%s", body)
	}
}

// `docker run -it IMAGE` (the guide's first command) lands in Claude's prompt, inside the
// tmux session; detaching leaves the agent running.
func TestInteractiveRunShowsClaudePrompt(t *testing.T) {
	everyEngine(t, "docker run -it: the engine's TTY and attach streams")
	parallelSuite(t)
	ensureImage(t, "latest")
	name := fmt.Sprintf("magents-e2e-it-%d", time.Now().UnixNano())
	removeContainer(t, name)
	cmd := exec.Command("docker", "run", "-it", "--name", name, images.Repository+":latest")
	cmd.Env = append(cmd.Environ(), "TERM=xterm-256color")
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 140})
	if err != nil {
		t.Fatal(err)
	}
	defer tty.Close()
	out := &syncBuffer{}
	go func() { _, _ = io.Copy(out, tty) }()

	waitOutput(t, out, "Claude Code v"+claudeVersion, 60*time.Second)
	waitOutput(t, out, "❯", 30*time.Second)
	for _, unwanted := range []string{"Choose the text style", "Do you trust the files", "Do you want to use this API key"} {
		if strings.Contains(out.String(), unwanted) {
			t.Errorf("the agent shows a first-run screen (%q) instead of the prompt", unwanted)
		}
	}
	// Detach with tmux's prefix (C-b d): the container and its session keep running.
	if _, err := tty.Write([]byte{0x02, 'd'}); err != nil {
		t.Fatal(err)
	}
	waitOutput(t, out, "the agent keeps running", 15*time.Second)
	docker("inspect", "-f", "{{.State.Running}}", name).Assert(t, icmd.Expected{Out: "true"})
	docker("exec", name, "tmux", "has-session", "-t", "claude").Assert(t, icmd.Success)
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitOutput waits until the terminal output shows want.
func waitOutput(t *testing.T, out *syncBuffer, want string, timeout time.Duration) {
	t.Helper()
	waitFor(t, timeout, fmt.Sprintf("the terminal to show %q", want), func() (bool, string) {
		screen := screenText(out.String())
		return strings.Contains(screen, want), tail(screen, 40)
	})
}

var (
	cursorForward = regexp.MustCompile(`\x1b\[(\d*)C`)
	escapes       = regexp.MustCompile(`\x1b(\[[0-9;?<=>]*[ -/]*[@-~]|\][^\x07]*\x07|[()][0-9A-Za-z]|[=>78M])`)
)

// screenText turns terminal output into plain text: tmux moves the cursor over blanks
// (ESC[nC) instead of printing spaces, so those become spaces; other escapes go.
func screenText(s string) string {
	s = cursorForward.ReplaceAllStringFunc(s, func(m string) string {
		n, err := strconv.Atoi(cursorForward.FindStringSubmatch(m)[1])
		if err != nil || n < 1 {
			n = 1
		}
		return strings.Repeat(" ", n)
	})
	return escapes.ReplaceAllString(s, "")
}
