package gateway

import (
	"cmp"
	"fmt"
	"io"
	"iter"
	"maps"
	"slices"
	"sync"
	"time"
)

type gatewayMetrics struct {
	mu       sync.Mutex
	requests map[string]map[int]int // by agent, by status
	retried  int
}

func (m *gatewayMetrics) count(agent string, status int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.requests == nil {
		m.requests = map[string]map[int]int{}
	}
	if m.requests[agent] == nil {
		m.requests[agent] = map[int]int{}
	}
	m.requests[agent][status]++
}

// sortedMap ranges over m in its keys' order.
func sortedMap[K cmp.Ordered, V any](m map[K]V) iter.Seq2[K, V] {
	return func(yield func(K, V) bool) {
		for _, k := range slices.Sorted(maps.Keys(m)) {
			if !yield(k, m[k]) {
				return
			}
		}
	}
}

// WriteMetrics writes the gateway's counts in Prometheus' text format.
func (g *Model) WriteMetrics(w io.Writer) {
	rep := g.book.Report(time.Now())
	help := func(name, typ, text string) { fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, typ) }
	help("magents_gateway_tokens_total", "counter", "Tokens the Messages API reported, by agent, model and kind.")
	for agent, a := range sortedMap(rep.Agents) {
		for model, u := range sortedMap(a.Models) {
			for _, k := range []struct {
				kind string
				n    int
			}{{"input", u.InputTokens}, {"output", u.OutputTokens}, {"cache_creation", u.CacheCreationInputTokens}, {"cache_read", u.CacheReadInputTokens}} {
				fmt.Fprintf(w, "magents_gateway_tokens_total{agent=%q,model=%q,kind=%q} %d\n", agent, model, k.kind, k.n)
			}
		}
	}
	help("magents_gateway_cost_usd_total", "counter", "What the agent's requests cost, in US dollars, at the repository's prices.")
	for agent, a := range sortedMap(rep.Agents) {
		fmt.Fprintf(w, "magents_gateway_cost_usd_total{agent=%q} %g\n", agent, a.Total().CostUSD)
	}
	help("magents_gateway_budget_refusals_total", "counter", "Requests refused because a budget was reached.")
	for agent, a := range sortedMap(rep.Agents) {
		fmt.Fprintf(w, "magents_gateway_budget_refusals_total{agent=%q} %d\n", agent, a.Refused)
	}
	help("magents_gateway_requests_total", "counter", "Requests the gateway answered, by agent and HTTP status.")
	g.metrics.mu.Lock()
	defer g.metrics.mu.Unlock()
	for agent, byStatus := range sortedMap(g.metrics.requests) {
		for status, n := range sortedMap(byStatus) {
			fmt.Fprintf(w, "magents_gateway_requests_total{agent=%q,code=\"%d\"} %d\n", agent, status, n)
		}
	}
	help("magents_gateway_upstream_retries_total", "counter", "Requests sent again after a 429 or 529.")
	fmt.Fprintf(w, "magents_gateway_upstream_retries_total %d\n", g.metrics.retried)
}
