package modelusage

import (
	"encoding/json"
	"fmt"
	"maps"
	"sync"
	"time"
)

// Budgets are the fleet's spending limits in US dollars: each agent's (Agents, else
// AgentUSD) and the whole fleet's. Zero is no limit.
type Budgets struct {
	AgentUSD float64            `json:"agent_usd,omitempty"`
	Agents   map[string]float64 `json:"agents,omitempty"`
	FleetUSD float64            `json:"fleet_usd,omitempty"`
}

// Of is agent's limit.
func (b Budgets) Of(agent string) float64 {
	if v, ok := b.Agents[agent]; ok {
		return v
	}
	return b.AgentUSD
}

// AgentUsage is one agent's account.
type AgentUsage struct {
	Models map[string]Usage `json:"models"`          // by model ("" when the answer named none)
	Tasks  map[string]Usage `json:"tasks,omitempty"` // by the queue's task ID
	// BudgetUSD is the agent's limit (0: none); Exceeded says its spending, or the
	// fleet's, reached a limit, so the gateway refuses it; Refused counts those refusals.
	BudgetUSD float64 `json:"budget_usd,omitempty"`
	Exceeded  bool    `json:"budget_exceeded,omitempty"`
	Refused   int     `json:"refused,omitempty"`
}

// Total is the agent's usage over every model.
func (a AgentUsage) Total() Usage {
	var t Usage
	for _, u := range a.Models {
		t.Add(u)
	}
	return t
}

// Report is the gateway's account (GET /magents/usage on its own port): every agent's,
// and the limits.
type Report struct {
	Agents  map[string]AgentUsage `json:"agents"`
	Budgets Budgets               `json:"budgets"`
	// FleetExceeded: the fleet's spending reached its limit; every agent is refused.
	FleetExceeded bool      `json:"fleet_budget_exceeded,omitempty"`
	Now           time.Time `json:"now,omitzero"`
}

// Total is the fleet's usage.
func (r Report) Total() Usage {
	var t Usage
	for _, a := range r.Agents {
		t.Add(a.Total())
	}
	return t
}

// Book is the gateway's running account: safe for concurrent use.
type Book struct {
	mu      sync.Mutex
	agents  map[string]*AgentUsage
	budgets Budgets
	changed chan struct{} // gets a value (without blocking) on every change
}

// NewBook is an empty account with limits b.
func NewBook(b Budgets) *Book {
	return &Book{agents: map[string]*AgentUsage{}, budgets: b, changed: make(chan struct{}, 1)}
}

// Changed has a value after a change since it was last received: when to save.
func (b *Book) Changed() <-chan struct{} { return b.changed }

func (b *Book) touch() {
	select {
	case b.changed <- struct{}{}:
	default:
	}
}

func (b *Book) agent(name string) *AgentUsage {
	a := b.agents[name]
	if a == nil {
		a = &AgentUsage{Models: map[string]Usage{}}
		b.agents[name] = a
	}
	return a
}

// Record adds one message's priced usage of model to agent's account (and to task's,
// when it works on one).
func (b *Book) Record(agent, task, model string, u Usage) {
	b.mu.Lock()
	defer b.mu.Unlock()
	a := b.agent(agent)
	m := a.Models[model]
	m.Add(u)
	a.Models[model] = m
	if task != "" {
		if a.Tasks == nil {
			a.Tasks = map[string]Usage{}
		}
		t := a.Tasks[task]
		t.Add(u)
		a.Tasks[task] = t
	}
	b.touch()
}

// Allow says whether agent may send another request: nil, or why not (counted as a
// refusal).
func (b *Book) Allow(agent string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	err := b.overLocked(agent)
	if err != nil {
		b.agent(agent).Refused++
		b.touch()
	}
	return err
}

func (b *Book) overLocked(agent string) error {
	var fleet float64
	for _, a := range b.agents {
		fleet += a.Total().CostUSD
	}
	if limit := b.budgets.FleetUSD; limit > 0 && fleet >= limit {
		return fmt.Errorf("the fleet reached its budget of $%.2f (spent $%.2f); raise it with docker magents budget set --fleet-usd N", limit, fleet)
	}
	spent := 0.0
	if a := b.agents[agent]; a != nil {
		spent = a.Total().CostUSD
	}
	if limit := b.budgets.Of(agent); limit > 0 && spent >= limit {
		return fmt.Errorf("%s reached its budget of $%.2f (spent $%.2f); raise it with docker magents budget set %s --usd N", agent, limit, spent, agent)
	}
	return nil
}

// Over reports whether agent's spending, or the fleet's, reached a limit.
func (b *Book) Over(agent string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.overLocked(agent) != nil
}

// SetBudgets replaces the limits.
func (b *Book) SetBudgets(v Budgets) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.budgets = v
	b.touch()
}

// Budgets are the limits in force.
func (b *Book) Budgets() Budgets {
	b.mu.Lock()
	defer b.mu.Unlock()
	v := b.budgets
	v.Agents = maps.Clone(v.Agents)
	return v
}

// Report is the account as it stands; names are every agent that used the gateway and
// those given (so an agent with no request yet is listed too).
func (b *Book) Report(now time.Time, names ...string) Report {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, n := range names {
		b.agent(n)
	}
	r := Report{Agents: map[string]AgentUsage{}, Budgets: b.budgets, Now: now}
	r.Budgets.Agents = maps.Clone(b.budgets.Agents)
	var fleet float64
	for name, a := range b.agents {
		c := AgentUsage{Models: maps.Clone(a.Models), Tasks: maps.Clone(a.Tasks), BudgetUSD: b.budgets.Of(name), Refused: a.Refused}
		c.Exceeded = b.overLocked(name) != nil
		r.Agents[name] = c
		fleet += a.Total().CostUSD
	}
	r.FleetExceeded = b.budgets.FleetUSD > 0 && fleet >= b.budgets.FleetUSD
	return r
}

// saved is what a Book keeps across restarts: the counts, and the limits set while it ran
// with the limits it was started with (those of a later start with other limits win).
type saved struct {
	Agents    map[string]*AgentUsage `json:"agents"`
	StartedAs Budgets                `json:"started_as"`
	Budgets   Budgets                `json:"budgets"`
}

// Marshal is the book as Load reads it; startedAs are the limits it was started with.
func (b *Book) Marshal(startedAs Budgets) ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return json.Marshal(saved{Agents: b.agents, StartedAs: startedAs, Budgets: b.budgets})
}

// Load is a book saved by Marshal, started with limits start: its counts, and its limits
// when it was started with the same ones (else start).
func Load(data []byte, start Budgets) (*Book, error) {
	b := NewBook(start)
	if len(data) == 0 {
		return b, nil
	}
	var s saved
	if err := json.Unmarshal(data, &s); err != nil {
		return b, err
	}
	for name, a := range s.Agents {
		if a != nil {
			if a.Models == nil {
				a.Models = map[string]Usage{}
			}
			b.agents[name] = a
		}
	}
	if sameBudgets(s.StartedAs, start) {
		b.budgets = s.Budgets
	}
	return b, nil
}

func sameBudgets(a, b Budgets) bool {
	return a.AgentUSD == b.AgentUSD && a.FleetUSD == b.FleetUSD && maps.Equal(a.Agents, b.Agents)
}
