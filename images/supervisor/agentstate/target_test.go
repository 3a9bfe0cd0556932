package agentstate

import (
	"strings"
	"testing"
)

func TestTarget(t *testing.T) {
	def, err := ParseTarget(nil)
	if err != nil {
		t.Fatal(err)
	}
	forIdle, _ := ParseTarget([]string{"idle"})
	forFailed, _ := ParseTarget([]string{"done", "failed"})
	for _, tc := range []struct {
		name         string
		target       Target
		state        State
		done, failed bool
	}{
		{"default: working goes on", def, Working, false, false},
		{"default: starting goes on", def, Starting, false, false},
		{"default: idle ends it", def, Idle, true, false},
		{"default: waiting ends it", def, Waiting, true, false},
		{"default: failed ends it, failing", def, Failed, true, true},
		{"default: auth-rejected ends it, failing", def, AuthRejected, true, true},
		{"--for idle: waiting goes on", forIdle, Waiting, false, false},
		{"--for idle: failed gives up, failing", forIdle, Failed, true, true},
		{"--for idle: auth-rejected gives up, failing", forIdle, AuthRejected, true, true},
		{"--for done,failed: failed is what was asked", forFailed, Failed, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done, failed := tc.target.Reached(tc.state)
			if done != tc.done || failed != tc.failed {
				t.Errorf("reached(%s) = %v, %v; want %v, %v", tc.state, done, failed, tc.done, tc.failed)
			}
		})
	}
	if _, err := ParseTarget([]string{"busy"}); err == nil || !strings.Contains(err.Error(), "idle") {
		t.Errorf("an unknown state: err = %v, want one that lists the states", err)
	}
}
