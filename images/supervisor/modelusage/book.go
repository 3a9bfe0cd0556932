package modelusage

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
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
	// Blocked: a request of the agent's did not fit what is left of a budget, so it is
	// refused until the budgets change (its spending never passes them).
	Blocked bool `json:"blocked,omitempty"`
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

// Book is the gateway's running account: safe for concurrent use. A request is reserved
// at its worst case before it is relayed (Reserve) and settled at what its answer
// reported (Settle); with a journal, each of those is on disk before the book goes on, so
// a gateway killed at any moment restarts with every request counted — at its
// reservation when its end was never seen.
type Book struct {
	mu      sync.Mutex
	agents  map[string]*AgentUsage
	budgets Budgets
	changed chan struct{} // gets a value (without blocking) on every change
	pending map[uint64]Reservation
	nextID  uint64
	journal Journal
}

// Reservation is a request under way: its agent, task and model, and its worst case.
type Reservation struct {
	Agent string `json:"agent"`
	Task  string `json:"task,omitempty"`
	Model string `json:"model"`
	Usage Usage  `json:"usage"`
}

// Journal is where the book writes ahead (an *os.File opened to append): every line
// synced before the book goes on, the whole emptied once a snapshot holds it.
type Journal interface {
	Write(p []byte) (int, error)
	Sync() error
	Truncate(size int64) error
}

// journalEntry is a line of the journal: a reservation made, or settled at usage.
type journalEntry struct {
	Op string `json:"op"` // "reserve" or "settle"
	ID uint64 `json:"id"`
	Reservation
}

// NewBook is an empty account with limits b.
func NewBook(b Budgets) *Book {
	return &Book{agents: map[string]*AgentUsage{}, budgets: b, changed: make(chan struct{}, 1), pending: map[uint64]Reservation{},
		nextID: uint64(time.Now().UnixNano())}
}

// SetJournal has the book write ahead to j from now on.
func (b *Book) SetJournal(j Journal) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.journal = j
}

func (b *Book) writeAheadLocked(e journalEntry) error {
	if b.journal == nil {
		return nil
	}
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if _, err := b.journal.Write(append(line, '\n')); err != nil {
		return err
	}
	return b.journal.Sync()
}

// Reserve books a request of agent (working on task) before it is relayed, at worst, its
// worst case: refused, with why, when the agent's spending and requests under way, or
// the fleet's, with worst would pass a limit, or when it cannot be written ahead.
func (b *Book) Reserve(agent, task, model string, worst Usage) (uint64, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.fitsLocked(agent, worst.CostUSD); err != nil {
		a := b.agent(agent)
		a.Refused++
		if _, held := err.(*HeldError); !held {
			a.Blocked = true
		}
		b.touch()
		return 0, err
	}
	b.nextID++
	id := b.nextID
	r := Reservation{Agent: agent, Task: task, Model: model, Usage: worst}
	if err := b.writeAheadLocked(journalEntry{Op: "reserve", ID: id, Reservation: r}); err != nil {
		return 0, fmt.Errorf("the gateway cannot write its account ahead (%v), so it relays nothing it could not count", err)
	}
	b.pending[id] = r
	b.touch()
	return id, nil
}

// Settle ends reservation id: counted at u of model when the answer's end was seen
// (ended), else at its reservation — never less than what may have been billed.
func (b *Book) Settle(id uint64, model string, u Usage, ended bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	r, ok := b.pending[id]
	if !ok {
		return fmt.Errorf("no reservation %d", id)
	}
	delete(b.pending, id)
	if ended {
		r.Usage = u
		if model != "" {
			r.Model = model
		}
	}
	err := b.writeAheadLocked(journalEntry{Op: "settle", ID: id, Reservation: r})
	b.recordLocked(r)
	return err
}

// HeldError is a refusal that lasts only while other requests are under way: with them
// settled the request may fit (the gateway answers it as overloaded, and Claude retries).
type HeldError struct{ msg string }

func (e *HeldError) Error() string { return e.msg }

// fitsLocked says why a request of agent that may cost cost does not fit its budget or
// the fleet's, counting what is spent and what is reserved; nil when it fits. It is a
// *HeldError when it would fit but for the requests under way.
func (b *Book) fitsLocked(agent string, cost float64) error {
	if err := b.overLocked(agent); err != nil {
		return err
	}
	var fleet, fleetHeld, spent, held float64
	for name, a := range b.agents {
		c := a.Total().CostUSD
		fleet += c
		if name == agent {
			spent = c
		}
	}
	for _, r := range b.pending {
		fleetHeld += r.Usage.CostUSD
		if r.Agent == agent {
			held += r.Usage.CostUSD
		}
	}
	if limit := b.budgets.FleetUSD; limit > 0 && fleet+cost > limit {
		return fmt.Errorf("the fleet reached its budget of $%.2f: $%.4f spent, and this request may cost up to $%.4f (its max_tokens at the model's output price, and its input); raise it with docker magents budget set --fleet-usd N", limit, fleet, cost)
	}
	if limit := b.budgets.Of(agent); limit > 0 && spent+cost > limit {
		return fmt.Errorf("%s reached its budget of $%.2f: $%.4f spent, and this request may cost up to $%.4f (its max_tokens at the model's output price, and its input); raise it with docker magents budget set %s --usd N", agent, limit, spent, cost, agent)
	}
	if limit := b.budgets.FleetUSD; limit > 0 && fleet+fleetHeld+cost > limit {
		return &HeldError{fmt.Sprintf("the fleet's budget of $%.2f is held by requests under way ($%.4f): this one (up to $%.4f) waits for them", limit, fleetHeld, cost)}
	}
	if limit := b.budgets.Of(agent); limit > 0 && spent+held+cost > limit {
		return &HeldError{fmt.Sprintf("%s's budget of $%.2f is held by its requests under way ($%.4f): this one (up to $%.4f) waits for them", agent, limit, held, cost)}
	}
	return nil
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
	b.recordLocked(Reservation{Agent: agent, Task: task, Model: model, Usage: u})
}

func (b *Book) recordLocked(r Reservation) {
	a := b.agent(r.Agent)
	m := a.Models[r.Model]
	m.Add(r.Usage)
	a.Models[r.Model] = m
	if r.Task != "" {
		if a.Tasks == nil {
			a.Tasks = map[string]Usage{}
		}
		t := a.Tasks[r.Task]
		t.Add(r.Usage)
		a.Tasks[r.Task] = t
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
	if a := b.agents[agent]; a != nil && a.Blocked {
		return fmt.Errorf("%s reached its budget: its last request did not fit what is left of it; raise it with docker magents budget set %s --usd N", agent, agent)
	}
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
	for _, a := range b.agents {
		a.Blocked = false // judged again against the new limits at its next request
	}
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

// saved is what a Book keeps across restarts: the counts, the requests under way, and
// the limits set while it ran with the limits it was started with (those of a later
// start with other limits win).
type saved struct {
	Agents    map[string]*AgentUsage `json:"agents"`
	Pending   map[uint64]Reservation `json:"pending,omitempty"`
	StartedAs Budgets                `json:"started_as"`
	Budgets   Budgets                `json:"budgets"`
}

// Marshal is the book as Load reads it; startedAs are the limits it was started with.
func (b *Book) Marshal(startedAs Budgets) ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.marshalLocked(startedAs)
}

func (b *Book) marshalLocked(startedAs Budgets) ([]byte, error) {
	return json.Marshal(saved{Agents: b.agents, Pending: b.pending, StartedAs: startedAs, Budgets: b.budgets})
}

// Checkpoint has save write the book as Load reads it (the requests under way with it),
// then empties the journal, which the snapshot now holds; nothing is booked in between.
func (b *Book) Checkpoint(startedAs Budgets, save func([]byte) error) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	data, err := b.marshalLocked(startedAs)
	if err != nil {
		return err
	}
	if err := save(data); err != nil {
		return err
	}
	if b.journal != nil {
		return b.journal.Truncate(0)
	}
	return nil
}

// Load is a book saved by Marshal, then the journal written after it, started with
// limits start: its counts, and its limits when it was started with the same ones (else
// start). A request the snapshot or the journal has under way, never settled, is counted
// at its reservation: its gateway stopped before its end was seen.
func Load(data, journal []byte, start Budgets) (*Book, error) {
	b := NewBook(start)
	var s saved
	if len(data) > 0 {
		if err := json.Unmarshal(data, &s); err != nil {
			return b, err
		}
	}
	for name, a := range s.Agents {
		if a != nil {
			if a.Models == nil {
				a.Models = map[string]Usage{}
			}
			b.agents[name] = a
		}
	}
	if len(data) > 0 && sameBudgets(s.StartedAs, start) {
		b.budgets = s.Budgets
	}
	pending := maps.Clone(s.Pending)
	if pending == nil {
		pending = map[uint64]Reservation{}
	}
	for _, line := range bytes.Split(journal, []byte("\n")) {
		var e journalEntry
		if len(bytes.TrimSpace(line)) == 0 || json.Unmarshal(line, &e) != nil {
			continue // a line cut by the kill: its request's reserve, if any, was synced before
		}
		switch e.Op {
		case "reserve":
			pending[e.ID] = e.Reservation
		case "settle":
			delete(pending, e.ID)
			b.recordLocked(e.Reservation)
		}
	}
	for _, id := range slices.Sorted(maps.Keys(pending)) {
		b.recordLocked(pending[id])
	}
	return b, nil
}

func sameBudgets(a, b Budgets) bool {
	return a.AgentUSD == b.AgentUSD && a.FleetUSD == b.FleetUSD && maps.Equal(a.Agents, b.Agents)
}
