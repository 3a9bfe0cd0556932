package agent

import (
	"fmt"
	"io"
	"time"

	"github.com/docker-magents/docker-magents/images/supervisor/agentstate"
)

// writeMetrics writes the agent's health in Prometheus' text exposition format (version
// 0.0.4), what GET /metrics on the health port serves, so a cluster's Prometheus scrapes an
// agent as it scrapes anything else: its state, whether it runs, session restarts, OOM
// kills and what the egress proxy refused it lately.
func writeMetrics(w io.Writer, h healthReport, denials int, now time.Time) {
	gauge := func(name, help string) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name)
	}
	counter := func(name, help string) {
		fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s counter\n", name, help, name)
	}
	gauge("magents_agent_up", "Whether the agent's tmux session and its process run (1) or not (0).")
	fmt.Fprintf(w, "magents_agent_up %d\n", boolMetric(h.SessionAlive && h.AgentAlive))
	gauge("magents_agent_state", "The agent's state: 1 for the state it is in, 0 for the others.")
	for _, s := range agentstate.States {
		fmt.Fprintf(w, "magents_agent_state{state=%q} %d\n", string(s), boolMetric(h.State == s))
	}
	gauge("magents_agent_state_seconds", "How long the agent has been in its state.")
	seconds := 0.0
	if !h.Since.IsZero() {
		seconds = max(0, now.Sub(h.Since).Seconds())
	}
	fmt.Fprintf(w, "magents_agent_state_seconds %g\n", seconds)
	counter("magents_agent_session_restarts_total", "Claude sessions the supervisor restarted.")
	fmt.Fprintf(w, "magents_agent_session_restarts_total %d\n", h.Restarts)
	counter("magents_agent_oom_kills_total", "Processes of the agent the kernel killed at its memory limit.")
	fmt.Fprintf(w, "magents_agent_oom_kills_total %d\n", h.OOMKills)
	gauge("magents_agent_egress_denials", "Requests of the agent the egress proxy refused lately.")
	fmt.Fprintf(w, "magents_agent_egress_denials %d\n", denials)
}

func boolMetric(b bool) int {
	if b {
		return 1
	}
	return 0
}
