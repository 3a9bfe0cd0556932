//go:build e2e

package e2e

import (
	"testing"
	"time"
)

// waitFor waits for an event: it asks check until check says the event happened, and
// fails the test once timeout has passed, saying what it waited for and what check saw
// last. check returns whether the event happened and what it saw (a state, a screen, a
// list), which waitFor also returns. Every wait of the suite is one of these — an event
// with a deadline, never a fixed sleep — so that a slow machine only makes a run longer,
// and a red run says where it stood.
func waitFor(t testing.TB, timeout time.Duration, what string, check func() (bool, string)) string {
	t.Helper()
	const interval = 300 * time.Millisecond
	deadline := time.Now().Add(timeout)
	for {
		ok, saw := check()
		if ok {
			return saw
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s; saw last:\n%s", timeout, what, saw)
		}
		time.Sleep(interval)
	}
}
