package main

import (
	"strings"
	"testing"

	"github.com/docker-magents/docker-magents/images/supervisor/agentstate"
	"github.com/docker-magents/docker-magents/internal/fleetstatus"
)

// The default tables are templates of the one formatter: the header of each, and a row
// in its columns.
func TestDefaultTables(t *testing.T) {
	var b strings.Builder
	if err := statusTable(&b, []fleetstatus.AgentStatus{{Agent: "agent-1", Container: "p-agent-1", State: agentstate.Idle, Health: "healthy", Image: "magents/claude-agent:latest"}}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 || strings.Join(strings.Fields(lines[0]), " ") != "AGENT CONTAINER STATE FOR HEALTH TOKENS COST UPTIME IMAGE" ||
		strings.Join(strings.Fields(lines[1]), " ") != "agent-1 p-agent-1 idle - healthy - - - magents/claude-agent:latest" {
		t.Errorf("ps:\n%s", b.String())
	}
	if i, j := strings.Index(lines[0], "CONTAINER"), strings.Index(lines[1], "p-agent-1"); i != j {
		t.Errorf("ps's columns are not aligned (%d, %d):\n%s", i, j, b.String())
	}
	b.Reset()
	if err := usageTable(&b, "task", []UsageRow{{Task: "task-1", Requests: 2, CostUSD: 0.5}}, &UsageRow{Requests: 2, CostUSD: 0.5}); err != nil {
		t.Fatal(err)
	}
	if out := b.String(); !strings.HasPrefix(strings.Join(strings.Fields(out), " "), "TASK REQUESTS INPUT OUTPUT CACHE WRITE CACHE READ COST BUDGET task-1 2") || !strings.Contains(out, "TOTAL") {
		t.Errorf("usage:\n%s", out)
	}
}
