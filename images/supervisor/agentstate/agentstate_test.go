package agentstate

import "testing"

// One judgement: a running session or a finished headless task is healthy; ready is that,
// less an agent that cannot work.
func TestHealthyAndReady(t *testing.T) {
	for _, tc := range []struct {
		h              Health
		healthy, ready bool
	}{
		{Health{Status: "healthy", State: Idle}, true, true},
		{Health{Status: "healthy", State: Starting}, true, true},
		{Health{Status: "healthy", State: Done}, true, true},
		{Health{Status: "healthy", State: AuthRejected}, true, false},
		{Health{Status: "healthy", State: Failed}, true, false},
		{Health{Status: "unhealthy", State: Failed}, false, false},
	} {
		if tc.h.Healthy() != tc.healthy || tc.h.Ready() != tc.ready {
			t.Errorf("%+v: healthy %v ready %v, want %v %v", tc.h, tc.h.Healthy(), tc.h.Ready(), tc.healthy, tc.ready)
		}
	}
}
