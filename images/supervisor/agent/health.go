package agent

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/docker-magents/docker-magents/images/supervisor/agentstate"
	"github.com/docker-magents/docker-magents/images/supervisor/atomicfile"
	"github.com/docker-magents/docker-magents/images/supervisor/logs"
)

// status is what the supervisor records for `health` (another process) to report.
type status struct {
	StartedAt time.Time `json:"startedAt"`
	Restarts  int       `json:"restarts"`
	LastExit  time.Time `json:"lastExit,omitzero"`
	Auth      string    `json:"auth,omitempty"` // a method name, never a secret
	// AuthRejected: the model API refused the credential; cleared by a restart request.
	AuthRejected bool `json:"authRejected,omitempty"`
	// AuthError says why, in the API's or Claude's words (never the credential).
	AuthError string `json:"authError,omitempty"`
	// AuthRejectedAt is when the credential was refused.
	AuthRejectedAt time.Time `json:"authRejectedAt,omitzero"`
	// SetupError is why the agent's workspace could not be prepared (its clone).
	SetupError string `json:"setupError,omitempty"`
	// SessionAt is when the current tmux session started.
	SessionAt time.Time `json:"sessionAt,omitzero"`
	// Pane is the process in the session's pane while the session runs, as the supervisor
	// last saw it: health watches it without asking tmux.
	Pane paneProcess `json:"pane,omitzero"`
}

type statusFile struct {
	path string
	mu   sync.Mutex
	st   status
}

func newStatusFile(cfg Config) *statusFile {
	return &statusFile{path: statusPath(cfg)}
}

func statusPath(cfg Config) string { return filepath.Join(cfg.RunDir, "supervisor.json") }

// readStatus is the supervisor's status as it last recorded it (zero when it has not).
func readStatus(cfg Config) status {
	var st status
	if b, err := os.ReadFile(statusPath(cfg)); err == nil {
		_ = json.Unmarshal(b, &st)
	}
	return st
}

func (f *statusFile) update(fn func(*status)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(&f.st)
	b, _ := json.Marshal(f.st)
	if err := atomicfile.Write(f.path, b, 0o644); err != nil {
		logs.Printf("recording status: %v", err)
	}
	kickWaiters() // the status push sends it
}

// healthReport is the JSON of `health`, /healthz and /readyz.
type healthReport = agentstate.Health

func currentHealth(cfg Config) healthReport { return healthWith(cfg, true) }

// healthWith is the agent's health; with denials, it asks the fleet's egress proxy what it
// refused the agent lately (the report the supervisor sends the proxy leaves them out:
// the proxy knows them, and docker magents ps adds them from its own account).
func healthWith(cfg Config, denials bool) healthReport {
	t := tmux{session: cfg.Session}
	h := healthReport{Session: cfg.Session}
	st := readStatus(cfg)
	h.StartedAt, h.Restarts, h.LastExit, h.Auth, h.AuthError = st.StartedAt, st.Restarts, st.LastExit, st.Auth, st.AuthError
	h.OOMKills, h.Problems = problems(cfg)
	if f, ok := LifecycleFailure(cfg); ok {
		h.Problems = append(h.Problems, f.Error())
	}
	if denials {
		if denied := cachedEgressDenials(cfg, os.Getenv, time.Now()); len(denied) > 0 {
			h.Problems = append(h.Problems, agentstate.EgressProblem(len(denied), denied[len(denied)-1].Host))
		}
	}
	// The pane's process as the supervisor saw it, while it runs, stands for the session
	// (no tmux client, which would cost every health check two processes); else tmux says.
	paneAlive := st.Pane.alive()
	h.SessionAlive = paneAlive || t.hasSession()
	if r, done := readResult(cfg); done && !h.SessionAlive {
		// A finished headless run: the agent did its work; its state says how it went.
		h.Status, h.State, h.Since = "healthy", agentstate.Done, r.FinishedAt
		if r.ExitCode != 0 || r.IsError {
			h.State = agentstate.Failed
		}
		return h
	}
	switch {
	case paneAlive:
		h.AgentPID, h.AgentAlive = st.Pane.PID, true
	case h.SessionAlive:
		pid, err := t.panePID()
		if err != nil {
			h.Error = err.Error()
		}
		h.AgentPID = pid
		h.AgentAlive = processAlive(pid)
	default:
		h.Error = "tmux session " + cfg.Session + " is not running"
	}
	h.Status = "unhealthy"
	if h.SessionAlive && h.AgentAlive {
		h.Status = "healthy"
	}
	hs, hooked := readHookState(cfg)
	h.State, h.Since, h.Detail = stateOf(h, st, hs, hooked, claudeCommand(cfg.AgentCmd), time.Now())
	switch {
	case !headless(cfg):
	case h.Healthy() && fileExists(waitingMarker(cfg)):
		h.State, h.Detail = agentstate.Idle, "waiting for a task: docker magents task AGENT TEXT"
	case h.State == agentstate.Idle:
		h.State = agentstate.Working // a headless run is at work until it finishes
	}
	return h
}

// restartGrace is how long a session that ended counts as restarting rather than failed:
// longer than the first backoffs, shorter than the backoff of a session that keeps exiting.
const restartGrace = 10 * time.Second

// stateOf derives the agent's state and since when it holds. While the session runs,
// Claude's hooks say what it does; before the first hook Claude is starting (an agent
// command other than claude has no hooks, so it is idle once it runs). A session that is
// down is starting before its first start and failed after.
func stateOf(h healthReport, st status, hs hookState, hooked, claude bool, now time.Time) (agentstate.State, time.Time, string) {
	switch {
	case st.SetupError != "":
		return agentstate.Failed, st.StartedAt, st.SetupError
	case st.AuthRejected:
		return agentstate.AuthRejected, st.AuthRejectedAt, st.AuthError
	case h.SessionAlive && h.AgentAlive && hooked:
		return hs.State, hs.Since, hs.Detail
	case h.SessionAlive && h.AgentAlive && claude:
		return agentstate.Starting, st.SessionAt, ""
	case h.SessionAlive && h.AgentAlive:
		return agentstate.Idle, st.SessionAt, ""
	case st.Restarts == 0 && st.LastExit.IsZero():
		return agentstate.Starting, st.StartedAt, ""
	case now.Sub(st.LastExit) < restartGrace:
		// Just ended: the supervisor starts it again within its backoff.
		return agentstate.Starting, st.LastExit, "restarting after the session ended"
	}
	return agentstate.Failed, st.LastExit, h.Error
}

// claudeCommand reports whether the agent command runs Claude Code (and so its hooks).
func claudeCommand(cmd string) bool {
	f := strings.Fields(cmd)
	for len(f) > 0 && strings.Contains(f[0], "=") { // leading VAR=value assignments
		f = f[1:]
	}
	return len(f) > 0 && filepath.Base(f[0]) == "claude"
}

// Health prints the report and returns the exit code HEALTHCHECK expects.
func Health(cfg Config, w io.Writer) int {
	h := currentHealth(cfg)
	enc := json.NewEncoder(w)
	_ = enc.Encode(h)
	if !h.Healthy() {
		return 1
	}
	return 0
}

func writeHealth(w http.ResponseWriter, h healthReport, ok func(healthReport) bool) {
	w.Header().Set("Content-Type", "application/json")
	if !ok(h) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(h)
}
