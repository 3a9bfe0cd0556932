package agentstate

import (
	"fmt"
	"slices"
	"strings"
)

// Target is what a wait waits for: the states that end it for an agent.
type Target struct {
	Want  []State
	Given bool // named by the user, not the default
}

// ParseTarget reads state names; none is the default target: no agent starting or working.
func ParseTarget(names []string) (Target, error) {
	if len(names) == 0 {
		return Target{Want: []State{Idle, Waiting, Done, Failed, AuthRejected, BudgetExceeded}}, nil
	}
	t := Target{Given: true}
	for _, n := range names {
		s := State(strings.TrimSpace(n))
		if !slices.Contains(States, s) {
			return t, fmt.Errorf("invalid --for %q: the states are %s", n, Join(States, ", "))
		}
		t.Want = append(t.Want, s)
	}
	return t, nil
}

// Reached reports whether an agent in state s is done waiting, and whether it failed.
// A failed, auth-rejected or budget-exceeded agent gets nowhere else by itself: the wait
// for it ends.
func (t Target) Reached(s State) (done, failed bool) {
	bad := s == Failed || s == AuthRejected || s == BudgetExceeded
	if slices.Contains(t.Want, s) {
		return true, bad && !t.Given
	}
	return bad, bad
}

// Join writes states as a list with sep between them.
func Join(states []State, sep string) string {
	out := make([]string, len(states))
	for i, s := range states {
		out[i] = string(s)
	}
	return strings.Join(out, sep)
}
