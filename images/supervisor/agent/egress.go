package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/docker-magents/docker-magents/images/supervisor/agentenv"
	"github.com/docker-magents/docker-magents/images/supervisor/agentstate"
	"github.com/docker-magents/docker-magents/images/supervisor/atomicfile"
	"github.com/docker-magents/docker-magents/images/supervisor/httprelay"
	"github.com/docker-magents/docker-magents/images/supervisor/protocol"
)

// The agent's side of the fleet's egress proxy: an agent behind it has no network at all
// (network mode none), so its supervisor carries the loopback proxy port HTTP_PROXY names
// to the proxy's socket for this agent (MAGENTS_EGRESS_SOCKET), and asks the proxy, for
// the agent's health, what it refused the agent lately.

// egressDenials is what the fleet's egress proxy refused this agent in the last few
// minutes: asked through the agent's own socket, the proxy answers with this agent's
// denials alone. Nil without a proxy.
func egressDenials(getenv func(string) string) []protocol.Denial {
	sock := getenv(agentenv.EgressSocket)
	if sock == "" {
		return nil
	}
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
		// One question: a connection kept would wake the supervisor when the proxy
		// closes it.
		DisableKeepAlives: true,
	}}
	resp, err := client.Get("http://egress-proxy/magents/denied")
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var rep struct {
		Recent []protocol.Denial `json:"recent"`
	}
	if json.NewDecoder(resp.Body).Decode(&rep) != nil {
		return nil
	}
	// Only recent ones: an old refusal says nothing about a 403 now.
	var out []protocol.Denial
	since := time.Now().Add(-agentstate.RecentDenial)
	for _, d := range rep.Recent {
		if d.Time.After(since) {
			out = append(out, d)
		}
	}
	return out
}

// cachedEgressDenials is egressDenials as health reports it: asked of the proxy at most
// once per egressCacheTTL (HEALTHCHECK, the health endpoint and ps each ask for health),
// the answer kept in the run dir between those processes.
func cachedEgressDenials(cfg Config, getenv func(string) string, now time.Time) []protocol.Denial {
	if !behindEgressProxy(getenv) {
		return nil
	}
	path := filepath.Join(cfg.RunDir, "egress-denials.json")
	var cached struct {
		At     time.Time         `json:"at"`
		Denied []protocol.Denial `json:"denied"`
	}
	if b, err := os.ReadFile(path); err == nil && json.Unmarshal(b, &cached) == nil && now.Sub(cached.At) < egressCacheTTL && !cached.At.After(now) {
		return cached.Denied
	}
	cached.At, cached.Denied = now, egressDenials(getenv)
	if b, err := json.Marshal(cached); err == nil {
		_ = atomicfile.Write(path, b, 0o644)
	}
	return cached.Denied
}

// egressCacheTTL is how long health reuses the proxy's answer.
const egressCacheTTL = 15 * time.Second

func behindEgressProxy(getenv func(string) string) bool {
	return getenv(agentenv.EgressSocket) != ""
}

// egressStartWait is how long a connection waits for the proxy's socket: agents start
// alongside the proxy, which makes the sockets as it starts (and comes back after a crash).
var egressStartWait = 20 * time.Second

// dialEgress dials the proxy's socket for this agent, waiting up to wait while it is not
// there yet or not yet listening.
func dialEgress(ctx context.Context, sock string, wait time.Duration) (net.Conn, error) {
	deadline := time.Now().Add(wait)
	for {
		c, err := (&net.Dialer{Timeout: 10 * time.Second}).DialContext(ctx, "unix", sock)
		if err == nil || time.Now().After(deadline) || !(errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED)) {
			return c, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// forwardEgress is the agent's side (MAGENTS_EGRESS_SOCKET): it listens on the loopback
// address HTTP_PROXY names and carries each connection, byte for byte, to the egress
// proxy's socket for this agent — the agent's only way out, since it has no network.
func forwardEgress(ctx context.Context, getenv func(string) string) (net.Listener, error) {
	sock := getenv(agentenv.EgressSocket)
	u, err := url.Parse(getenv("HTTP_PROXY"))
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("MAGENTS_EGRESS_SOCKET is set, but HTTP_PROXY (%q) names no address to forward from", getenv("HTTP_PROXY"))
	}
	ln, err := net.Listen("tcp", u.Host)
	if err != nil {
		return nil, fmt.Errorf("forwarding %s to the egress proxy: %w", u.Host, err)
	}
	go func() {
		<-ctx.Done()
		ln.Close()
	}()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				up, err := dialEgress(ctx, sock, egressStartWait)
				if err != nil {
					// As a proxy that cannot be reached answers: the client sees why.
					_, _ = io.WriteString(c, "HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
					return
				}
				defer up.Close()
				done := make(chan struct{}, 2)
				go func() { _, _ = io.Copy(up, c); httprelay.CloseWrite(up); done <- struct{}{} }()
				go func() { _, _ = io.Copy(c, up); httprelay.CloseWrite(c); done <- struct{}{} }()
				<-done
				<-done
			}()
		}
	}()
	return ln, nil
}
