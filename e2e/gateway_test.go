//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"gotest.tools/v3/icmd"

	"github.com/docker-magents/docker-magents/images/supervisor/modelusage"
	"github.com/docker-magents/docker-magents/internal/anthropictest"
)

// The model gateway: the real Claude in two agents, with its telemetry off, talks to the
// Messages API test double through the fleet's gateway, which holds the API key. What the
// gateway counts (usage, ps, /metrics) is what the double reported, side calls included;
// an agent's budget is enforced — Claude shows the refusal, ps and wait say
// budget-exceeded — and raised with budget set, after which the agent goes on.
func TestModelGatewayMetersAndEnforcesBudgets(t *testing.T) {
	anyEngine(t, "the gateway's metering")
	parallelSuite(t)
	nonce := fmt.Sprint(time.Now().UnixNano())
	// Each turn's answer reports 40k input tokens: at Sonnet's $3 per million, $0.12 a
	// turn (and side calls of whatever model Claude picks for them, as the table prices it).
	e := newFleetEnvWith(t, nonce, func(r anthropictest.Request) anthropictest.Reply {
		if !r.HasTools() {
			return anthropictest.Reply{Text: "Test title"}
		}
		return anthropictest.Reply{Text: "metered " + nonce, Usage: &anthropictest.Usage{InputTokens: 40000, OutputTokens: 50, CacheReadInputTokens: 1000}}
	}).inProject("gwe2e")
	env := readFile(filepath.Join(e.dir, ".env.magents")) +
		"ANTHROPIC_MODEL=claude-sonnet-4-5-20250929\nCLAUDE_CODE_ENABLE_TELEMETRY=0\nDISABLE_TELEMETRY=1\n"
	if err := os.WriteFile(filepath.Join(e.dir, ".env.magents"), []byte(env), 0o600); err != nil {
		t.Fatal(err)
	}
	e.magents("up", "--agents", "2", "--budget-usd", "100").Assert(t, icmd.Success)
	e.magents("wait", "--for", "idle", "--timeout", "90s").Assert(t, icmd.Success)
	for _, c := range []string{e.container("agent-1"), e.container("agent-2")} {
		if env := docker("exec", c, "sh", "-c", "cat /proc/[0-9]*/environ | tr '\\0' '\\n' | grep -E '^(ANTHROPIC_API_KEY|ANTHROPIC_AUTH_TOKEN)='").Stdout(); strings.Contains(env, e.apiKey) || !strings.Contains(env, "ANTHROPIC_AUTH_TOKEN=magents-gw-") {
			t.Errorf("%s's processes hold %q", c, env)
		}
	}

	// From inside an agent, as its user, with its own token: what the gateway cannot
	// meter or contain is refused, and never reaches the API — a server tool that fetches
	// for it, the MCP connector, an unknown beta, a model the price table lacks.
	marker := "gateway-feature-" + nonce
	for name, c := range map[string]struct{ beta, body, want string }{
		"web fetch from Anthropic's servers": {"", `"tools":[{"type":"web_fetch_20250910","name":"web_fetch"}]`, "--gateway-allow web_fetch"},
		"the MCP connector":                  {"", `"mcp_servers":[{"type":"url","url":"https://evil.example/mcp","name":"x"}]`, "--gateway-allow mcp_servers"},
		"an unknown beta":                    {"claude-code-20250219,files-api-2025-04-14", `"tools":[]`, "--gateway-allow files-api-2025-04-14"},
		"an unpriced model":                  {"", `"model":"free-lunch-1"`, "price table"},
	} {
		body := `{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"` + marker + `"}],` + c.body + `}`
		if strings.Contains(c.body, `"model"`) {
			body = `{"max_tokens":10,"messages":[{"role":"user","content":"` + marker + `"}],` + c.body + `}`
		}
		beta := ""
		if c.beta != "" {
			beta = `anthropic-beta: ` + c.beta + `\r\n`
		}
		attempt(t, e.container("agent-2"), name, `bash -s <<'EOF'
tok=$(cat "$MAGENTS_GATEWAY_TOKEN_FILE")
body='`+body+`'
exec 3<>/dev/tcp/127.0.0.1/3128
printf 'POST /v1/messages HTTP/1.1\r\nHost: api\r\nAuthorization: Bearer %s\r\n`+beta+`Content-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' "$tok" "${#body}" "$body" >&3
resp=$(timeout 10 cat <&3)
if printf '%s' "$resp" | head -n1 | grep -q ' 4[0-9][0-9] ' && printf '%s' "$resp" | grep -qF -- '`+c.want+`'; then echo REFUSED; else printf 'PLANTED\n%s\n' "$resp"; fi
EOF`)
	}
	for _, r := range e.api.Requests() {
		if r.Mentions(marker) {
			escapesGot.Add(1)
			t.Errorf("a refused request reached the API: %s", r.Header.Get("anthropic-beta"))
		}
	}

	// agent-2 works once; agent-1 twice, then its budget is lowered to what it spent and
	// a little, less than any request of Claude's may cost (its max_tokens at Sonnet's
	// output price alone is more).
	turn := func(agent, text string) {
		t.Helper()
		e.magents("task", agent, text).Assert(t, icmd.Success)
		e.magents("wait", agent, "--timeout", "90s").Assert(t, icmd.Success)
	}
	turn("agent-2", "first task of agent-2")
	for i := range 2 {
		turn("agent-1", fmt.Sprintf("task %d of agent-1", i))
	}
	type spend struct {
		Agent   string
		CostUSD float64
	}
	var spent float64
	for _, r := range jsonLines[spend](t, e.magents("usage", "--format", "json").Stdout()) {
		if r.Agent == "agent-1" {
			spent = r.CostUSD
		}
	}
	if spent < 0.24 {
		t.Fatalf("agent-1 spent $%v in two turns of $0.12", spent)
	}
	budget := math.Round((spent+0.05)*100) / 100
	e.magents("budget", "set", "agent-1", "--usd", fmt.Sprint(budget)).Assert(t, icmd.Success)
	// The third turn's worst case does not fit what is left: refused before it reaches the
	// API, and agent-1 is budget-exceeded (wait exits 1) — its spending never passes it.
	e.magents("task", "agent-1", "task 2 of agent-1").Assert(t, icmd.Success)
	e.magents("wait", "agent-1", "--timeout", "90s").Assert(t, icmd.Expected{ExitCode: 1, Out: "budget-exceeded"})
	// Over its budget: the gateway refuses, Claude shows why, nothing reaches the API.
	before := len(e.api.Requests())
	e.magents("task", "agent-1", "one task too many").Assert(t, icmd.Success)
	waitFor(t, 60*time.Second, "Claude to show the gateway's refusal", func() (bool, string) {
		pane := docker("exec", e.container("agent-1"), "tmux", "capture-pane", "-p", "-J", "-t", "claude").Stdout()
		return strings.Contains(pane, "reached its budget"), pane
	})
	for _, r := range e.api.Requests()[before:] {
		if strings.Contains(r.LastUserText(), "one task too many") {
			t.Error("a request over budget reached the API")
		}
	}
	ps := jsonLines[struct {
		Agent, State       string
		Tokens             int
		CostUSD, BudgetUSD float64
	}](t, e.magents("ps", "--format", "json").Stdout())
	if len(ps) != 2 || ps[0].State != "budget-exceeded" || ps[1].State != "idle" || ps[0].BudgetUSD != budget || ps[0].CostUSD > budget || ps[1].Tokens < 41000 {
		t.Errorf("ps: %+v", ps)
	}
	if table := e.magents("ps").Stdout(); !strings.Contains(table, "budget-exceeded") || !strings.Contains(table, "TOKENS") {
		t.Errorf("ps table:\n%s", table)
	}
	e.magents("wait", "agent-1", "--timeout", "20s").Assert(t, icmd.Expected{ExitCode: 1, Out: "budget-exceeded"})

	// What the gateway counted is what the double sent, model by model.
	type row struct {
		Agent, Model                                                              string
		Requests, InputTokens, OutputTokens, CacheCreationTokens, CacheReadTokens int
		CostUSD                                                                   float64
	}
	byModel := jsonLines[row](t, e.magents("usage", "--by", "model", "--format", "json").Stdout())
	sent := e.api.Sent()
	if len(byModel) != len(sent) {
		t.Errorf("usage --by model has %d models, the double answered for %d: %+v %+v", len(byModel), len(sent), byModel, sent)
	}
	var wantCost float64
	for _, r := range byModel {
		s := sent[r.Model]
		if r.InputTokens != s.InputTokens || r.OutputTokens != s.OutputTokens || r.CacheReadTokens != s.CacheReadInputTokens || r.CacheCreationTokens != s.CacheCreationInputTokens {
			t.Errorf("%s: the gateway counted %+v, the double sent %+v", r.Model, r, s)
		}
		wantCost += modelusage.Priced(r.Model, modelusage.Usage{InputTokens: s.InputTokens, OutputTokens: s.OutputTokens,
			CacheCreationInputTokens: s.CacheCreationInputTokens, CacheReadInputTokens: s.CacheReadInputTokens}).CostUSD
	}
	var total row
	if err := json.Unmarshal([]byte(e.magents("usage", "--total", "--format", "json").Stdout()), &total); err != nil || math.Abs(total.CostUSD-wantCost) > 1e-5 {
		t.Errorf("usage --total: %+v (want cost %v) %v", total, wantCost, err)
	}
	byAgent := jsonLines[row](t, e.magents("usage", "--format", "json").Stdout())
	if len(byAgent) != 2 || byAgent[0].Agent != "agent-1" || byAgent[0].Requests < 2 || byAgent[1].Requests < 1 {
		t.Errorf("usage: %+v", byAgent)
	}
	if table := e.magents("usage").Stdout(); !strings.Contains(table, "TOTAL") || !strings.Contains(table, "(reached)") {
		t.Errorf("usage table:\n%s", table)
	}

	// /metrics of the gateway, in Prometheus' text format.
	res := docker("exec", e.container("egress-proxy"), "bash", "-c",
		`exec 3<>/dev/tcp/127.0.0.1/3128 && printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3 && cat <&3`)
	_, body, _ := strings.Cut(res.Stdout(), "\r\n\r\n")
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("the gateway's /metrics does not parse: %v\n%s", err, res.Combined())
	}
	refusals := 0.0
	for _, m := range families["magents_gateway_budget_refusals_total"].GetMetric() {
		refusals += m.GetCounter().GetValue()
	}
	if refusals < 1 || len(families["magents_gateway_cost_usd_total"].GetMetric()) != 2 {
		t.Errorf("/metrics:\n%s", body)
	}

	// Raised: the agent goes on, and its next turn reaches the API.
	e.magents("budget", "set", "agent-1", "--usd", "5").Assert(t, icmd.Expected{Out: "agent-1: limit $5.00"})
	turn("agent-1", "after the raise")
	waitRequests(t, e.api, func(rs []anthropictest.Request) bool {
		for _, r := range rs {
			if strings.Contains(r.LastUserText(), "after the raise") {
				return true
			}
		}
		return false
	})
	// The account and the raised limit survive the gateway's restart.
	docker("restart", e.container("egress-proxy")).Assert(t, icmd.Success)
	after := jsonLines[row](t, e.magents("usage", "--format", "json").Stdout())
	if len(after) != 2 || after[0].Requests < byAgent[0].Requests+1 {
		t.Errorf("usage after the gateway's restart: %+v", after)
	}
	e.magents("ps", "--format", "{{.Agent}} {{.BudgetUSD}}").Assert(t, icmd.Expected{Out: "agent-1 5\n"})
}
