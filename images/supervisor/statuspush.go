package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/docker-magents/docker-magents/images/supervisor/agentconn"
)

// Status without an exec per agent: behind the egress proxy, each agent's supervisor gives
// the proxy its health report (the JSON of `health`) whenever it changes and at least every
// statusHeartbeat, over the agent's own socket — so the proxy files it under the agent the
// socket belongs to, and an agent can report only itself. docker magents ps reads every
// agent's report from the proxy in one exec, and the engine's health check can run seldom.
const (
	statusHeartbeat = 30 * time.Second
	maxStatusReport = 64 << 10
)

// statusPusher sends this agent's health to the proxy, a look at a time (relayAndPush).
type statusPusher struct {
	cfg    config
	client *http.Client
	last   []byte
	sent   time.Time
}

func newStatusPusher(cfg config, sock string) *statusPusher {
	return &statusPusher{cfg: cfg, client: &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
		MaxIdleConns: 1, IdleConnTimeout: 2 * statusHeartbeat,
	}}}
}

// step sends the report when it changed or the heartbeat is due, and says when the next
// heartbeat is (at once after a failed send).
func (p *statusPusher) step(ctx context.Context) (next time.Duration) {
	defer func() { next = statusHeartbeat - time.Since(p.sent) }()
	// A step happens only when the supervisor was kicked (something it reports changed)
	// or for the heartbeat: the report is made each time.
	b, err := json.Marshal(healthWith(p.cfg, false))
	if err != nil || (bytes.Equal(b, p.last) && time.Since(p.sent) < statusHeartbeat) {
		return
	}
	if err := putStatus(ctx, p.client, b); err != nil {
		return // the proxy is starting or restarting: the next look sends it
	}
	p.last, p.sent = b, time.Now()
	return
}

func putStatus(ctx context.Context, client *http.Client, report []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, "http://egress-proxy/magents/status", bytes.NewReader(report))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("the egress proxy answered %s", resp.Status)
	}
	return nil
}

// agentStatusReport is an agent's last report as the proxy keeps it.
type agentStatusReport struct {
	At     time.Time       `json:"at"`
	Health json.RawMessage `json:"health"`
}

// status takes an agent's report, from its own socket only: the proxy's port (what the
// fleet's operator reaches through exec) reads reports, never writes one.
func (p *egressProxy) status(w http.ResponseWriter, r *http.Request) {
	agent, own := agentconn.Agent(r.Context())
	if !own {
		http.Error(w, "docker-magents egress proxy: agents report their status on their own socket", http.StatusForbidden)
		return
	}
	if r.Method != http.MethodPut {
		w.Header().Set("Allow", http.MethodPut)
		http.Error(w, "docker-magents egress proxy: PUT a status report", http.StatusMethodNotAllowed)
		return
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxStatusReport))
	if err != nil {
		http.Error(w, fmt.Sprintf("docker-magents egress proxy: a status report is at most %d bytes", maxStatusReport), http.StatusRequestEntityTooLarge)
		return
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(b, &obj) != nil {
		http.Error(w, "docker-magents egress proxy: a status report is a JSON object", http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	p.statuses[agent] = agentStatusReport{At: time.Now().UTC(), Health: b}
	p.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}
