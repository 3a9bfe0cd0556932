package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// Status without an exec per agent: behind the egress proxy, each agent's supervisor gives
// the proxy its health report (the JSON of `health`) whenever it changes and at least every
// statusHeartbeat, over the agent's own socket — so the proxy files it under the agent the
// socket belongs to, and an agent can report only itself. docker magents ps reads every
// agent's report from the proxy in one exec, and the engine's health check can run seldom.
const statusHeartbeat = 30 * time.Second

// statusPusher sends this agent's health to the proxy, a look at a time (relayAndPush).
type statusPusher struct {
	cfg    Config
	client *http.Client
	last   []byte
	sent   time.Time
}

func newStatusPusher(cfg Config, sock string) *statusPusher {
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
