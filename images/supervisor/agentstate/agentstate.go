// Package agentstate is the agent status that the supervisor reports (its health JSON)
// and the plugin reads (docker magents ps --format json): one type for both. It imports
// only the standard library, like the supervisor.
package agentstate

import (
	"fmt"
	"time"
)

// RecentDenial is how long a request the egress proxy refused counts for the agent's
// health.
const RecentDenial = 2 * time.Minute

// EgressProblem is the problem an agent's health names for n requests the egress proxy
// refused it lately, the last to host.
func EgressProblem(n int, host string) string {
	return fmt.Sprintf("the egress proxy refused %d request(s), the last to %s: allow it with docker magents up --allow %s", n, host, host)
}

// State is what an agent is doing. The values are fixed for every feature that reports them.
type State string

const (
	Starting     State = "starting"      // the container or its session is coming up
	Working      State = "working"       // Claude is processing a turn
	Waiting      State = "waiting"       // Claude waits for the user (a question or a permission)
	Idle         State = "idle"          // Claude is at its prompt with nothing to do
	Done         State = "done"          // a headless task finished
	Failed       State = "failed"        // the session is down or keeps exiting
	AuthRejected State = "auth-rejected" // the model API refused the credential
	// BudgetExceeded: the fleet's model gateway refuses the agent's requests, its spending
	// (or the fleet's) having reached a limit (docker magents budget set raises it).
	BudgetExceeded State = "budget-exceeded"
)

// States lists every State, in the order above.
var States = []State{Starting, Working, Waiting, Idle, Done, Failed, AuthRejected, BudgetExceeded}

// Health is the supervisor's health report: `magents-supervisor health`, /healthz, /readyz.
// It names the auth method in use, never a credential.
type Health struct {
	Status       string    `json:"status"` // "healthy" or "unhealthy"
	State        State     `json:"state"`
	Since        time.Time `json:"since,omitzero"`   // when the agent entered State
	Detail       string    `json:"detail,omitempty"` // what a waiting agent waits for
	Session      string    `json:"session"`
	SessionAlive bool      `json:"sessionAlive"`
	AgentAlive   bool      `json:"agentAlive"`
	AgentPID     int       `json:"agentPid,omitempty"`
	StartedAt    time.Time `json:"startedAt,omitzero"`
	Restarts     int       `json:"restarts"`
	LastExit     time.Time `json:"lastExit,omitzero"`
	Auth         string    `json:"auth,omitempty"`
	AuthError    string    `json:"authError,omitempty"` // why the model API refused the credential
	Error        string    `json:"error,omitempty"`
	OOMKills     int       `json:"oomKills,omitempty"` // processes the kernel killed at the memory limit
	Problems     []string  `json:"problems,omitempty"` // what stands in the agent's way: OOM kills, full volumes
}

// Healthy is the one judgement of an agent's health, which the engine's HEALTHCHECK
// (`magents-supervisor health`), /healthz (the liveness and startup probes of Kubernetes
// and Cloud Run) and ps share: its session and agent process run, or its headless task
// finished — a done agent is healthy, never restarted.
func (h Health) Healthy() bool { return h.Status == "healthy" }

// Ready (/readyz) is Healthy, less an agent that cannot work: its setup failed or the
// model API refused its credential.
func (h Health) Ready() bool {
	return h.Healthy() && h.State != Failed && h.State != AuthRejected
}

// Check is one finding of `docker magents doctor`; the supervisor reports the checks made
// inside an agent (`magents-supervisor doctor`) in the same form.
type Check struct {
	Scope  string      `json:"Scope"` // "fleet", or the agent's name
	Name   string      `json:"Name"`
	Status CheckStatus `json:"Status"`
	Detail string      `json:"Detail,omitempty"` // what was found; never a credential
	Fix    string      `json:"Fix,omitempty"`    // what to do when it is not ok
}

// CheckStatus is a check's outcome.
type CheckStatus string

const (
	CheckOK   CheckStatus = "ok"
	CheckWarn CheckStatus = "warn" // works, but deserves a look
	CheckFail CheckStatus = "fail" // broken: doctor exits non-zero
	CheckSkip CheckStatus = "skip" // not checked, because an earlier check failed
)

// EgressSocketName is the egress proxy's unix socket in each agent's socket directory:
// the proxy listens there, the agent's supervisor forwards its proxy port to it.
const EgressSocketName = "proxy.sock"
