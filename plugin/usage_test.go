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
			"agent-3": {
				Models: map[string]modelusage.Usage{"claude-sonnet-4-5": {Requests: 4, InputTokens: 40, CostUSD: 0.4}},
				Tasks: map[string]modelusage.Usage{
					"task-10": {Requests: 1, InputTokens: 10, CostUSD: 0.1},
					"task-2":  {Requests: 2, InputTokens: 20, CostUSD: 0.2},
				},
			},
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
	if rows[0].BudgetUSD != 2 || rows[2].Requests != 4 {
		t.Errorf("agent-1 and agent-3: %+v %+v", rows[0], rows[2])
	}
	models := usageRows(f, rep, "model")
	if len(models) != 2 || models[0].Model != "claude-haiku-4-5" || models[1].Requests != 7 || models[1].InputTokens != 147 {
		t.Fatalf("model rows: %+v", models)
	}
	// By task, in the queue's order, then what was asked outside any task.
	tasks := usageRows(f, rep, "task")
	if len(tasks) != 3 || tasks[0].Task != "task-2" || tasks[1].Task != "task-10" || tasks[2].Task != "-" ||
		tasks[0].Requests != 2 || tasks[2].Requests != 5 || tasks[2].InputTokens != 122 {
		t.Fatalf("task rows: %+v", tasks)
	}
	var buf bytes.Buffer
	total := usageRow(rep.Total())
	if err := usageTable(&buf, "agent", rows, &total); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{"AGENT", "TOTAL", "$0.5100", "$0.50 (reached)", "$1.1600"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}
