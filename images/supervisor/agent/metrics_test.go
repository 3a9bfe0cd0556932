package agent

import (
	"strings"
	"testing"
	"time"

	"github.com/docker-magents/docker-magents/images/supervisor/agentstate"
)

// The metrics of a waiting agent; the e2e suite parses the live endpoint with
// Prometheus' own parser.
func TestWriteMetrics(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	var b strings.Builder
	writeMetrics(&b, healthReport{SessionAlive: true, AgentAlive: true, State: agentstate.Waiting, Since: now.Add(-90 * time.Second), Restarts: 2, OOMKills: 1}, 3, now)
	for _, want := range []string{
		"# TYPE magents_agent_up gauge\nmagents_agent_up 1\n",
		"magents_agent_state{state=\"waiting\"} 1\n",
		"magents_agent_state{state=\"idle\"} 0\n",
		"magents_agent_state_seconds 90\n",
		"# TYPE magents_agent_session_restarts_total counter\nmagents_agent_session_restarts_total 2\n",
		"magents_agent_oom_kills_total 1\n",
		"magents_agent_egress_denials 3\n",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("metrics lack %q:\n%s", want, b.String())
		}
	}
	if n := strings.Count(b.String(), "magents_agent_state{"); n != len(agentstate.States) {
		t.Errorf("%d state samples, want one per state (%d)", n, len(agentstate.States))
	}
	b.Reset()
	writeMetrics(&b, healthReport{}, 0, now)
	if !strings.Contains(b.String(), "magents_agent_up 0\n") || !strings.Contains(b.String(), "magents_agent_state_seconds 0\n") {
		t.Errorf("a stopped agent's metrics:\n%s", b.String())
	}
}
