package modelusage

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const stream = "event: message_start\r\n" +
	`data: {"type":"message_start","message":{"id":"msg_1","model":"claude-sonnet-4-5-20250929","usage":{"input_tokens":1200,"output_tokens":1,"cache_creation_input_tokens":100,"cache_read_input_tokens":2000}}}` + "\r\n\r\n" +
	"event: ping\ndata: {\"type\":\"ping\"}\n\n" +
	"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"usage: {\\\"output_tokens\\\": 99}\"}}\n\n" +
	"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":350}}\n\n" +
	"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"

func TestMeterStreamInAnyPieces(t *testing.T) {
	for _, size := range []int{1, 7, 64, len(stream)} {
		m := NewMeter("text/event-stream; charset=utf-8")
		for s := stream; s != ""; {
			n := min(size, len(s))
			if k, err := m.Write([]byte(s[:n])); k != n || err != nil {
				t.Fatalf("Write = %d, %v", k, err)
			}
			s = s[n:]
		}
		model, u, ok := m.Result()
		if !ok || model != "claude-sonnet-4-5-20250929" {
			t.Fatalf("pieces of %d: model %q ok %v", size, model, ok)
		}
		want := Usage{Requests: 1, InputTokens: 1200, OutputTokens: 350, CacheCreationInputTokens: 100, CacheReadInputTokens: 2000}
		// 1200×3 + 350×15 + 100×3.75 + 2000×0.3 millionths of a dollar.
		want.CostUSD = 0.009825
		if u != want {
			t.Fatalf("pieces of %d: usage %+v, want %+v", size, u, want)
		}
	}
}

func TestMeterJSONAndErrors(t *testing.T) {
	m := NewMeter("application/json")
	m.Write([]byte(`{"type":"message","model":"claude-haiku-4-5","usage":{"input_tokens":1000000,"output_tokens":1000000}}`))
	model, u, ok := m.Result()
	if !ok || model != "claude-haiku-4-5" || u.CostUSD != 6 || u.Requests != 1 {
		t.Fatalf("JSON message: %q %+v %v", model, u, ok)
	}
	m = NewMeter("application/json")
	m.Write([]byte(`{"type":"error","error":{"type":"overloaded_error","message":"x"}}`))
	if _, _, ok := m.Result(); ok {
		t.Fatal("an error body counted as usage")
	}
	m = NewMeter("text/event-stream")
	m.Write([]byte("event: error\ndata: {\"type\":\"error\"}\n\n"))
	if _, _, ok := m.Result(); ok {
		t.Fatal("an error event counted as usage")
	}
}

func TestModelNamesPrintSafely(t *testing.T) {
	if got := ReadModel([]byte(`{"model":"claude-x\u001b]0;pwned\u0007","max_tokens":1}`)); got != "" {
		t.Errorf("an escape sequence in a model name was kept: %q", got)
	}
	if got := ReadModel([]byte(`{"model":"claude-sonnet-4-5@20250929"}`)); got != "claude-sonnet-4-5@20250929" {
		t.Errorf("a model name was refused: %q", got)
	}
	if got := ModelName(strings.Repeat("a", 101)); got != "" {
		t.Errorf("a 101-character name was kept")
	}
}

func TestPrices(t *testing.T) {
	for model, input := range map[string]float64{
		"claude-opus-4-5-20251101": 5, "claude-opus-4-1-20250805": 15, "claude-opus-4-20250514": 15,
		"claude-sonnet-4-20250514": 3, "claude-3-5-haiku-20241022": 0.8, "claude-haiku-4-5-20251001": 1,
		"claude-opus-5": 5,
	} {
		if p, ok := PriceOf(model); !ok || p.Input != input {
			t.Errorf("%s: %+v %v, want input %v", model, p, ok, input)
		}
	}
	if _, ok := PriceOf("gpt-4"); ok {
		t.Error("a model not in the table has a price")
	}
	if u := Priced("some-model", Usage{InputTokens: 3}); !u.Unpriced || u.CostUSD != 0 {
		t.Errorf("unknown model: %+v", u)
	}
}

func TestBudgets(t *testing.T) {
	b := NewBook(Budgets{AgentUSD: 1, Agents: map[string]float64{"agent-2": 10}, FleetUSD: 12})
	b.Record("agent-1", "", "claude-haiku-4-5", Usage{Requests: 1, CostUSD: 0.6})
	if err := b.Allow("agent-1"); err != nil {
		t.Fatalf("under budget: %v", err)
	}
	b.Record("agent-1", "t1", "claude-haiku-4-5", Usage{Requests: 1, CostUSD: 0.4})
	err := b.Allow("agent-1")
	if err == nil || !strings.Contains(err.Error(), "agent-1 reached its budget of $1.00") || !strings.Contains(err.Error(), "budget set agent-1") {
		t.Fatalf("at budget: %v", err)
	}
	if err := b.Allow("agent-2"); err != nil {
		t.Fatalf("agent-2 has its own budget: %v", err)
	}
	b.Record("agent-2", "", "m", Usage{Requests: 1, CostUSD: 11})
	if err := b.Allow("agent-3"); err == nil || !strings.Contains(err.Error(), "the fleet reached its budget of $12.00") {
		t.Fatalf("fleet over budget: %v", err)
	}
	r := b.Report(time.Now(), "agent-4")
	if !r.FleetExceeded || !r.Agents["agent-1"].Exceeded || r.Agents["agent-1"].Refused != 1 || r.Agents["agent-1"].Tasks["t1"].CostUSD != 0.4 {
		t.Fatalf("report: %+v", r)
	}
	if _, ok := r.Agents["agent-4"]; !ok {
		t.Fatal("a named agent without requests is not listed")
	}
	if got := r.Total().CostUSD; got != 12 {
		t.Fatalf("total %v", got)
	}

	// Raised while running: kept across a restart with the same start, not with another.
	start := b.Budgets()
	raised := start
	raised.FleetUSD = 100
	b.SetBudgets(raised)
	if err := b.Allow("agent-3"); err != nil {
		t.Fatalf("after raising: %v", err)
	}
	data, err := b.Marshal(start)
	if err != nil {
		t.Fatal(err)
	}
	again, err := Load(data, nil, start)
	if err != nil || again.Budgets().FleetUSD != 100 || again.Report(time.Now()).Total().CostUSD != 12 {
		t.Fatalf("reloaded: %+v %v", again.Budgets(), err)
	}
	other := Budgets{FleetUSD: 50}
	if again, _ := Load(data, nil, other); again.Budgets().FleetUSD != 50 {
		t.Fatalf("a start with other limits keeps the old ones: %+v", again.Budgets())
	}
}

// What the API charges beyond plain tokens is counted: cache writes kept an hour at
// their own rate, a long request at the long-context rates, web searches by the search.
func TestPricedBeyondPlainTokens(t *testing.T) {
	m := NewMeter("text/event-stream")
	m.Write([]byte(`data: {"type":"message_start","message":{"model":"claude-sonnet-4-5","usage":{"input_tokens":1000,"output_tokens":1,` +
		`"cache_creation_input_tokens":3000,"cache_creation":{"ephemeral_5m_input_tokens":1000,"ephemeral_1h_input_tokens":2000},"cache_read_input_tokens":0}}}` + "\n\n" +
		`data: {"type":"message_delta","usage":{"output_tokens":100,"server_tool_use":{"web_search_requests":3}}}` + "\n\n"))
	_, u, ok := m.Result()
	// 1000×3 + 100×15 + 1000×3.75 + 2000×6 millionths, and 3 searches at a cent.
	if !ok || u.CacheCreation1hInputTokens != 2000 || u.WebSearchRequests != 3 || u.CostUSD != 0.05025 {
		t.Errorf("usage %+v", u)
	}
	long := Priced("claude-sonnet-4-5", Usage{InputTokens: 150000, CacheReadInputTokens: 60000, OutputTokens: 1000})
	// Over 200000 input tokens in all: 150000×6 + 60000×0.6 + 1000×22.5 millionths.
	if long.CostUSD != 0.9585 {
		t.Errorf("a long-context request costs %v", long.CostUSD)
	}
	short := Priced("claude-sonnet-4-5", Usage{InputTokens: 150000, CacheReadInputTokens: 50000, OutputTokens: 1000})
	if short.CostUSD != 0.48 {
		t.Errorf("a request of 200000 input tokens costs %v", short.CostUSD)
	}
	if Known("gpt-free-lunch") || Known("") || !Known("claude-opus-5-5") || !Known("claude-haiku-4-5") {
		t.Error("Known does not follow the price table")
	}
	if !strings.Contains(PricesSource(), "docs.anthropic.com") || !strings.Contains(PricesSource(), "checked 20") {
		t.Errorf("PricesSource() = %q", PricesSource())
	}
}

func TestReserveAndSettleWriteAhead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "journal")
	j, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	b := NewBook(Budgets{AgentUSD: 1, FleetUSD: 1.5})
	b.SetJournal(j)
	worst := Usage{Requests: 1, OutputTokens: 1000, CostUSD: 0.4}
	actual := Usage{Requests: 1, OutputTokens: 10, CostUSD: 0.01}
	a, err := b.Reserve("agent-1", "task-1", "claude-opus-4-5", worst)
	if err != nil {
		t.Fatal(err)
	}
	b2, err := b.Reserve("agent-1", "", "claude-opus-4-5", worst)
	if err != nil {
		t.Fatal(err)
	}
	// A third would pass agent-1's $1 with the two under way: refused while they are.
	if _, err := b.Reserve("agent-1", "", "claude-opus-4-5", worst); err == nil || !strings.Contains(err.Error(), "held by its requests under way") {
		t.Fatalf("a reservation past the agent's budget with its requests under way: %v", err)
	} else if _, held := err.(*HeldError); !held {
		t.Fatalf("not a HeldError: %T", err)
	}
	c, err := b.Reserve("agent-2", "", "claude-opus-4-5", worst)
	if err != nil {
		t.Fatal(err)
	}
	// The fleet's $1.5 holds 1.2 under way: a fourth does not fit it.
	if _, err := b.Reserve("agent-3", "", "claude-opus-4-5", worst); err == nil || !strings.Contains(err.Error(), "the fleet's budget") {
		t.Fatalf("a reservation past the fleet's budget: %v", err)
	}
	// Past what is left whatever is under way: the agent reached its budget, and is
	// refused until the budgets change.
	if _, err := b.Reserve("agent-4", "", "claude-opus-4-5", Usage{Requests: 1, CostUSD: 2}); err == nil || !strings.Contains(err.Error(), "the fleet reached its budget") {
		t.Fatalf("a reservation larger than the fleet's budget: %v", err)
	}
	if !b.Over("agent-4") || !b.Report(time.Now()).Agents["agent-4"].Exceeded {
		t.Error("an agent refused for good is not shown over its budget")
	}
	if err := b.Settle(a, "claude-opus-4-5", actual, true); err != nil {
		t.Fatal(err)
	}
	// An answer whose end was never seen is counted at its reservation.
	if err := b.Settle(b2, "claude-opus-4-5", actual, false); err != nil {
		t.Fatal(err)
	}
	if err := b.Settle(b2, "claude-opus-4-5", actual, true); err == nil {
		t.Error("a reservation settled twice")
	}
	// The gateway is killed now, c under way, and a line half written.
	f, _ := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o600)
	f.WriteString(`{"op":"reserve","id":9,"agent":"agent-`)
	f.Close()
	data, _ := os.ReadFile(path)
	again, err := Load(nil, data, Budgets{})
	if err != nil {
		t.Fatal(err)
	}
	r := again.Report(time.Now())
	if got := r.Agents["agent-1"].Total(); math.Abs(got.CostUSD-0.41) > 1e-9 || got.Requests != 2 || r.Agents["agent-1"].Tasks["task-1"].CostUSD != 0.01 {
		t.Errorf("agent-1 after the kill: %+v", r.Agents["agent-1"])
	}
	if got := r.Agents["agent-2"].Total(); got.CostUSD != 0.4 || got.Requests != 1 {
		t.Errorf("agent-2's request under way at the kill is counted at its reservation: %+v", got)
	}
	// A checkpoint holds what is under way and empties the journal; c's settlement after
	// it is in the journal alone.
	var snapshot []byte
	if err := b.Checkpoint(Budgets{}, func(d []byte) error { snapshot = d; return nil }); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(path); st.Size() != 0 {
		t.Errorf("the journal after a checkpoint: %d bytes", st.Size())
	}
	if err := b.Settle(c, "claude-opus-4-5", actual, true); err != nil {
		t.Fatal(err)
	}
	data, _ = os.ReadFile(path)
	again, _ = Load(snapshot, data, Budgets{})
	if got := again.Report(time.Now()).Agents["agent-2"].Total(); got.CostUSD != 0.01 {
		t.Errorf("agent-2 settled after the checkpoint: %+v", got)
	}
	again, _ = Load(snapshot, nil, Budgets{})
	if got := again.Report(time.Now()).Agents["agent-2"].Total(); got.CostUSD != 0.4 {
		t.Errorf("agent-2 under way in the snapshot alone: %+v", got)
	}
}

func TestWorst(t *testing.T) {
	body := []byte(`{"model":"claude-opus-4-5","max_tokens":1000,"messages":[{"role":"user","content":"` + strings.Repeat("x", 2990) + `"}]}`)
	w := Worst("claude-opus-4-5", body)
	in := (len(body) + 2) / 3
	if w.OutputTokens != 1000 || w.InputTokens != in || w.CostUSD != Priced("claude-opus-4-5", Usage{InputTokens: in, OutputTokens: 1000}).CostUSD {
		t.Errorf("plain: %+v", w)
	}
	cached := Worst("claude-opus-4-5", []byte(`{"max_tokens":10,"system":[{"type":"text","text":"x","cache_control":{"type":"ephemeral","ttl":"1h"}}]}`))
	if cached.CacheCreation1hInputTokens == 0 || cached.InputTokens != 0 {
		t.Errorf("a 1-hour cache write is reserved as one: %+v", cached)
	}
	search := Worst("claude-opus-4-5", []byte(`{"max_tokens":10,"tools":[{"type":"web_search_20250305","name":"web_search","max_uses":3}]}`))
	if search.WebSearchRequests != 3 {
		t.Errorf("web searches: %+v", search)
	}
	// Every real answer's usage within its request's worst case: Claude Code's own
	// request sizes, priced at the answer's actual mix, never above the reservation.
	if actual := Priced("claude-opus-4-5", Usage{InputTokens: in / 2, CacheReadInputTokens: in / 2, OutputTokens: 1000}); actual.CostUSD > w.CostUSD {
		t.Errorf("the answer %v costs more than its reservation %v", actual.CostUSD, w.CostUSD)
	}
}
