package agent

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/docker-magents/docker-magents/images/supervisor/agentstate"
)

// The supervisor sends its health when it changes (here: at once) and again at least every
// heartbeat, a PUT of /magents/status on its socket (where the proxy files it under the
// agent of the socket).
func TestPushStatus(t *testing.T) {
	t.Setenv("TMUX_TMPDIR", t.TempDir())
	t.Setenv("TMUX", "")
	var mu sync.Mutex
	var last []byte
	sock, _ := fakeProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPut || r.URL.Path != "/magents/status" {
			http.Error(w, "not a status report", http.StatusBadRequest)
			return
		}
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		last = b
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := Config{RunDir: t.TempDir(), Session: "claude", AgentCmd: "claude"}
	newStatusFile(cfg).update(func(s *status) { s.StartedAt = time.Now() })
	pusher := newStatusPusher(cfg, sock)
	go relayAndPush(ctx, newWaiter(ctx), nil, pusher)
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		report := last
		mu.Unlock()
		if report != nil {
			var h healthReport
			if err := json.Unmarshal(report, &h); err != nil || h.Session != "claude" || h.State == "" {
				t.Fatalf("report %s: %v", report, err)
			}
			if h.State == agentstate.Failed {
				break
			}
			// A change is sent within a poll or two, long before the heartbeat.
			newStatusFile(cfg).update(func(s *status) { s.StartedAt, s.SetupError = time.Now(), "no clone" })
			deadline = time.Now().Add(statusHeartbeat / 2)
		}
		if time.Now().After(deadline) {
			t.Fatal("no report, or no changed report, in time")
		}
		time.Sleep(100 * time.Millisecond)
	}
}
