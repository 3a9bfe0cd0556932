package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/docker-magents/docker-magents/images/supervisor/modelusage"
	"github.com/docker-magents/docker-magents/internal/fleet"
)

func TestUsageRows(t *testing.T) {
	f := fleet.New("p", "/tmp/c.yml")
	f.Agents = 3
	rep := &modelusage.Report{
		Agents: map[string]modelusage.AgentUsage{
			"agent-2": {Models: map[string]modelusage.Usage{
				"claude-sonnet-4-5": {Requests: 2, InputTokens: 100, OutputTokens: 10, CostUSD: 0.5},
				"claude-haiku-4-5":  {Requests: 1, InputTokens: 5, CostUSD: 0.01},
			}, Exceeded: true, Refused: 3},
			"agent-1": {Models: map[string]modelusage.Usage{"claude-sonnet-4-5": {Requests: 1, InputTokens: 7, CostUSD: 0.25}}},
		},
		Budgets: modelusage.Budgets{AgentUSD: 0.5, Agents: map[string]float64{"agent-1": 2}},
	}
	rows := usageRows(f, rep, "agent")
	if len(rows) != 3 || rows[0].Agent != "agent-1" || rows[1].Agent != "agent-2" || rows[2].Agent != "agent-3" {
		t.Fatalf("agent rows: %+v", rows)
	}
	if r := rows[1]; r.Requests != 3 || r.Tokens != 115 || r.CostUSD != 0.51 || !r.BudgetExceeded || r.Refused != 3 || r.BudgetUSD != 0.5 {
		t.Errorf("agent-2: %+v", r)
	}
	if rows[0].BudgetUSD != 2 || rows[2].Requests != 0 {
		t.Errorf("agent-1 and agent-3: %+v %+v", rows[0], rows[2])
	}
	models := usageRows(f, rep, "model")
	if len(models) != 2 || models[0].Model != "claude-haiku-4-5" || models[1].Requests != 3 || models[1].InputTokens != 107 {
		t.Fatalf("model rows: %+v", models)
	}
	var buf bytes.Buffer
	total := usageRow(rep.Total())
	if err := usageTable(&buf, "agent", rows, &total); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"AGENT", "TOTAL", "$0.5100", "$0.50 (reached)", "$0.7600"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}
