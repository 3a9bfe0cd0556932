// Package modelusage is what the fleet's model gateway counts of the Messages API's
// answers — tokens by kind, requests, cost from the repository's price table — and the
// report the plugin reads (docker magents usage, ps). It imports only the standard
// library, like the supervisor.
package modelusage

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"math"
	"strings"
	"sync"
)

// Usage is tokens by kind as the Messages API's usage blocks report them, the requests
// that reported them, and their cost in US dollars at the table's prices.
type Usage struct {
	Requests                 int `json:"requests"`
	InputTokens              int `json:"input_tokens"`
	OutputTokens             int `json:"output_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens"`
	// Of the cache writes, those kept an hour (priced higher than the 5-minute ones).
	CacheCreation1hInputTokens int `json:"cache_creation_1h_input_tokens,omitempty"`
	// Server tools used: web searches are charged by the search.
	WebSearchRequests int     `json:"web_search_requests,omitempty"`
	CostUSD           float64 `json:"cost_usd"`
	// Unpriced: some of these tokens were of a model the price table does not know, and
	// count nothing in CostUSD.
	Unpriced bool `json:"unpriced,omitempty"`
}

// Tokens is every token counted, whatever its kind.
func (u Usage) Tokens() int {
	return u.InputTokens + u.OutputTokens + u.CacheCreationInputTokens + u.CacheReadInputTokens
}

// Add adds v to u.
func (u *Usage) Add(v Usage) {
	u.Requests += v.Requests
	u.InputTokens += v.InputTokens
	u.OutputTokens += v.OutputTokens
	u.CacheCreationInputTokens += v.CacheCreationInputTokens
	u.CacheReadInputTokens += v.CacheReadInputTokens
	u.CacheCreation1hInputTokens += v.CacheCreation1hInputTokens
	u.WebSearchRequests += v.WebSearchRequests
	u.CostUSD += v.CostUSD
	u.Unpriced = u.Unpriced || v.Unpriced
}

// Sub takes v from u: what of u is not in v (v being a part of it).
func (u *Usage) Sub(v Usage) {
	u.Requests -= v.Requests
	u.InputTokens -= v.InputTokens
	u.OutputTokens -= v.OutputTokens
	u.CacheCreationInputTokens -= v.CacheCreationInputTokens
	u.CacheReadInputTokens -= v.CacheReadInputTokens
	u.CacheCreation1hInputTokens -= v.CacheCreation1hInputTokens
	u.WebSearchRequests -= v.WebSearchRequests
	u.CostUSD -= v.CostUSD
}

// Price is a model's price per million tokens of each kind.
type Price struct {
	Prefix string `json:"prefix"`
	Rates
	// LongContext: the rates of a request of more than Threshold input tokens, where the
	// model has such pricing.
	LongContext *struct {
		Threshold int `json:"threshold"`
		Rates
	} `json:"long_context,omitempty"`
}

// Rates are prices per million tokens of each kind.
type Rates struct {
	Input        float64 `json:"input"`
	Output       float64 `json:"output"`
	CacheWrite   float64 `json:"cache_write"`    // kept 5 minutes
	CacheWrite1h float64 `json:"cache_write_1h"` // kept an hour
	CacheRead    float64 `json:"cache_read"`
}

//go:embed prices.json
var pricesJSON []byte

// priceTable is prices.json: where its figures come from, when they were checked, and
// the price of each model family.
type priceTable struct {
	Source    string  `json:"source"`
	Checked   string  `json:"checked"`
	WebSearch float64 `json:"web_search_per_request"`
	Models    []Price `json:"models"`
}

var table = sync.OnceValue(func() priceTable {
	var t priceTable
	if err := json.Unmarshal(pricesJSON, &t); err != nil {
		panic("modelusage: prices.json: " + err.Error()) // a test reads it
	}
	return t
})

func prices() []Price { return table().Models }

// PricesSource says where the price table's figures come from and when they were checked.
func PricesSource() string {
	return table().Source + ", checked " + table().Checked
}

// Known reports whether the price table prices model: the gateway relays no other, so
// that nothing it relays is counted as free.
func Known(model string) bool {
	_, ok := PriceOf(model)
	return model != "" && ok
}

// PriceOf is the price of model: the table's entry with the longest prefix of its name.
func PriceOf(model string) (Price, bool) {
	var best Price
	found := false
	for _, p := range prices() {
		if strings.HasPrefix(model, p.Prefix) && len(p.Prefix) > len(best.Prefix) {
			best, found = p, true
		}
	}
	return best, found
}

// Priced is u, one message's usage of model, with its cost (or Unpriced).
func Priced(model string, u Usage) Usage {
	p, ok := PriceOf(model)
	if !ok {
		u.Unpriced = u.Tokens() > 0
		return u
	}
	r := p.Rates
	if l := p.LongContext; l != nil && u.InputTokens+u.CacheCreationInputTokens+u.CacheReadInputTokens > l.Threshold {
		r = l.Rates
	}
	write1h := min(u.CacheCreation1hInputTokens, u.CacheCreationInputTokens)
	cost := (float64(u.InputTokens)*r.Input + float64(u.OutputTokens)*r.Output +
		float64(u.CacheCreationInputTokens-write1h)*r.CacheWrite + float64(write1h)*r.CacheWrite1h +
		float64(u.CacheReadInputTokens)*r.CacheRead) / 1e6
	cost += float64(u.WebSearchRequests) * table().WebSearch
	// Whole millionths of a dollar: sums stay exact enough to compare with a budget.
	u.CostUSD = math.Round(cost*1e6) / 1e6
	return u
}

// apiUsage is a usage block of the Messages API.
type apiUsage struct {
	InputTokens              *int `json:"input_tokens"`
	OutputTokens             *int `json:"output_tokens"`
	CacheCreationInputTokens *int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     *int `json:"cache_read_input_tokens"`
	CacheCreation            *struct {
		Ephemeral1h *int `json:"ephemeral_1h_input_tokens"`
	} `json:"cache_creation"`
	ServerToolUse *struct {
		WebSearchRequests *int `json:"web_search_requests"`
	} `json:"server_tool_use"`
}

// merge takes what block says: message_delta's counts are totals so far, so a count given
// replaces the one before.
func (u *Usage) merge(b *apiUsage) {
	if b == nil {
		return
	}
	set := func(dst *int, v *int) {
		if v != nil {
			*dst = *v
		}
	}
	set(&u.InputTokens, b.InputTokens)
	set(&u.OutputTokens, b.OutputTokens)
	set(&u.CacheCreationInputTokens, b.CacheCreationInputTokens)
	set(&u.CacheReadInputTokens, b.CacheReadInputTokens)
	if b.CacheCreation != nil {
		set(&u.CacheCreation1hInputTokens, b.CacheCreation.Ephemeral1h)
	}
	if b.ServerToolUse != nil {
		set(&u.WebSearchRequests, b.ServerToolUse.WebSearchRequests)
	}
}

// Meter reads a Messages API response body as it passes (Write it every byte, in order)
// and keeps the message's model and usage: from the server-sent events of a streamed
// answer (message_start, then message_delta's totals) or from a whole JSON message. It
// never changes or holds back what passes; what it cannot parse counts nothing.
type Meter struct {
	stream bool
	line   bytes.Buffer // the current SSE line
	body   bytes.Buffer // a JSON answer, up to maxJSONBody
	model  string
	usage  Usage
	seen   bool
	ended  bool // message_stop seen, or a whole JSON message read
}

// maxJSONBody bounds the JSON answer a meter keeps to read its usage.
const maxJSONBody = 16 << 20

// NewMeter meters a body of contentType ("text/event-stream" or "application/json").
func NewMeter(contentType string) *Meter {
	return &Meter{stream: strings.HasPrefix(strings.ToLower(contentType), "text/event-stream")}
}

// Write takes the next bytes of the body; it never fails.
func (m *Meter) Write(p []byte) (int, error) {
	if !m.stream {
		if m.body.Len()+len(p) <= maxJSONBody {
			m.body.Write(p)
		}
		return len(p), nil
	}
	rest := p
	for len(rest) > 0 {
		i := bytes.IndexByte(rest, '\n')
		if i < 0 {
			if m.line.Len()+len(rest) <= maxJSONBody {
				m.line.Write(rest)
			}
			break
		}
		if m.line.Len()+i <= maxJSONBody {
			m.line.Write(rest[:i])
		}
		m.event(bytes.TrimSuffix(m.line.Bytes(), []byte("\r")))
		m.line.Reset()
		rest = rest[i+1:]
	}
	return len(p), nil
}

// event reads one line of the stream: only data lines carry what counts.
func (m *Meter) event(line []byte) {
	data, ok := bytes.CutPrefix(line, []byte("data:"))
	if !ok {
		return
	}
	var ev struct {
		Type    string `json:"type"`
		Message *struct {
			Model string    `json:"model"`
			Usage *apiUsage `json:"usage"`
		} `json:"message"`
		Usage *apiUsage `json:"usage"`
	}
	if json.Unmarshal(bytes.TrimSpace(data), &ev) != nil {
		return
	}
	switch ev.Type {
	case "message_start":
		if ev.Message != nil {
			m.model, m.seen = ModelName(ev.Message.Model), true
			m.usage.merge(ev.Message.Usage)
		}
	case "message_delta":
		m.usage.merge(ev.Usage)
		m.seen = m.seen || ev.Usage != nil
	case "message_stop":
		m.ended = m.seen
	}
}

// Result is the message's model and its priced usage (one request); ok is false when the
// body carried no usage at all (an error, or not a message).
func (m *Meter) Result() (model string, u Usage, ok bool) {
	if !m.stream {
		var msg struct {
			Type  string    `json:"type"`
			Model string    `json:"model"`
			Usage *apiUsage `json:"usage"`
		}
		if json.Unmarshal(m.body.Bytes(), &msg) != nil || msg.Usage == nil {
			return "", Usage{}, false
		}
		m.model, m.seen, m.ended = ModelName(msg.Model), true, true
		m.usage.merge(msg.Usage)
	}
	if !m.seen {
		return "", Usage{}, false
	}
	u = m.usage
	u.Requests = 1
	return m.model, Priced(m.model, u), true
}

// Ended reports whether the message's end was seen (a stream's message_stop, a whole JSON
// message): only then is its usage the whole of it. Call it after Result.
func (m *Meter) Ended() bool { return m.ended }

// Worst is the most a Messages request body of model may cost, what the gateway reserves
// before relaying it: its input at the dearest rate the request can be charged (a cache
// write kept an hour when it asks for one, five minutes when it marks any cache
// breakpoint, else input; the long-context rates past their threshold), counted as a
// token per three bytes of the body (tokenizers take about four of English or code); its
// max_tokens at the output price; and each web search its tools allow (max_uses, or
// worstSearches).
func Worst(model string, body []byte) Usage {
	var req struct {
		MaxTokens int `json:"max_tokens"`
		Tools     []struct {
			Type    string `json:"type"`
			MaxUses int    `json:"max_uses"`
		} `json:"tools"`
	}
	_ = json.Unmarshal(body, &req)
	in := (len(body) + 2) / 3
	u := Usage{Requests: 1, OutputTokens: max(req.MaxTokens, 0)}
	switch {
	case bytes.Contains(body, []byte(`"ttl":"1h"`)) || bytes.Contains(body, []byte(`"ttl": "1h"`)):
		u.CacheCreationInputTokens, u.CacheCreation1hInputTokens = in, in
	case bytes.Contains(body, []byte(`"cache_control"`)):
		u.CacheCreationInputTokens = in
	default:
		u.InputTokens = in
	}
	for _, t := range req.Tools {
		if strings.HasPrefix(t.Type, "web_search") {
			if t.MaxUses > 0 {
				u.WebSearchRequests += t.MaxUses
			} else {
				u.WebSearchRequests += worstSearches
			}
		}
	}
	return Priced(model, u)
}

// worstSearches is a web search tool's searches in a request's worst case when it gives
// no max_uses.
const worstSearches = 20

// ReadModel is the "model" of a Messages request body when it is a model's name (letters,
// digits and . _ - : @ /, at most 100 of them), else "": a request is the agent's, and
// what it names must print safely and not grow the account without bound.
func ReadModel(body []byte) string {
	var req struct {
		Model string `json:"model"`
	}
	_ = json.Unmarshal(body, &req)
	return ModelName(req.Model)
}

// ModelName is name when it is a model's name (as ReadModel), else "".
func ModelName(name string) string {
	if len(name) > 100 {
		return ""
	}
	for _, r := range name {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || strings.ContainsRune("._-:@/", r)) {
			return ""
		}
	}
	return name
}
