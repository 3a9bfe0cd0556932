package main

import (
	"strings"
	"testing"
	"time"

	"github.com/docker-magents/docker-magents/images/supervisor/agentstate"
)

func TestWaitTarget(t *testing.T) {
	def, err := parseWaitTarget(nil)
	if err != nil {
		t.Fatal(err)
	}
	forIdle, _ := parseWaitTarget([]string{"idle"})
	forFailed, _ := parseWaitTarget([]string{"done", "failed"})
	for _, tc := range []struct {
		name         string
		target       waitTarget
		state        agentstate.State
		done, failed bool
	}{
		{"default: working goes on", def, agentstate.Working, false, false},
		{"default: starting goes on", def, agentstate.Starting, false, false},
		{"default: idle ends it", def, agentstate.Idle, true, false},
		{"default: waiting ends it", def, agentstate.Waiting, true, false},
		{"default: failed ends it, failing", def, agentstate.Failed, true, true},
		{"default: auth-rejected ends it, failing", def, agentstate.AuthRejected, true, true},
		{"--for idle: waiting goes on", forIdle, agentstate.Waiting, false, false},
		{"--for idle: failed gives up, failing", forIdle, agentstate.Failed, true, true},
		{"--for idle: auth-rejected gives up, failing", forIdle, agentstate.AuthRejected, true, true},
		{"--for done,failed: failed is what was asked", forFailed, agentstate.Failed, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done, failed := tc.target.reached(tc.state)
			if done != tc.done || failed != tc.failed {
				t.Errorf("reached(%s) = %v, %v; want %v, %v", tc.state, done, failed, tc.done, tc.failed)
			}
		})
	}
	if _, err := parseWaitTarget([]string{"busy"}); err == nil || !strings.Contains(err.Error(), "idle") {
		t.Errorf("an unknown state: err = %v, want one that lists the states", err)
	}
}

func TestShortDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0:                             "0s",
		45 * time.Second:              "45s",
		3*time.Minute + 2*time.Second: "3m02s",
		2*time.Hour + 5*time.Minute:   "2h05m",
		76 * time.Hour:                "3d4h",
	} {
		if got := shortDuration(d); got != want {
			t.Errorf("shortDuration(%s) = %s, want %s", d, got, want)
		}
	}
}
