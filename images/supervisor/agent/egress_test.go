package agent

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker-magents/docker-magents/images/supervisor/agentstate"
	"github.com/docker-magents/docker-magents/images/supervisor/protocol"
)

// Health asks the proxy at most once per egressCacheTTL; the answer is kept in the run dir.
func TestCachedEgressDenials(t *testing.T) {
	var asked atomic.Int32
	sock, _ := fakeProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		_ = json.NewEncoder(w).Encode(map[string]any{"recent": []protocol.Denial{{Time: time.Now(), Client: "127.0.0.1", Host: "evil.test:443"}}})
	}))
	getenv := func(k string) string {
		if k == "MAGENTS_EGRESS_SOCKET" {
			return sock
		}
		return ""
	}
	cfg := Config{RunDir: t.TempDir()}
	now := time.Now()
	for i, at := range []time.Duration{0, 5 * time.Second, egressCacheTTL + time.Second} {
		d := cachedEgressDenials(cfg, getenv, now.Add(at))
		if len(d) != 1 || d[0].Host != "evil.test:443" {
			t.Fatalf("call %d: %+v", i, d)
		}
	}
	if n := asked.Load(); n != 2 {
		t.Errorf("the proxy was asked %d times for 3 calls over %s, want 2", n, egressCacheTTL+time.Second)
	}
	if d := cachedEgressDenials(cfg, func(string) string { return "" }, now); d != nil {
		t.Errorf("without the fleet's proxy: %+v", d)
	}
}

// The agent's loopback proxy port carries each connection to its socket; with the proxy
// gone, the client is told so.
func TestForwardEgress(t *testing.T) {
	var asked atomic.Int32
	sock, srv := fakeProxy(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		http.Error(w, "docker-magents egress proxy: denied.test is not on this fleet's allowlist", http.StatusForbidden)
	}))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	getenv := func(k string) string {
		return map[string]string{"MAGENTS_EGRESS_SOCKET": sock, "HTTP_PROXY": "http://127.0.0.1:0"}[k]
	}
	fwd, err := forwardEgress(ctx, getenv)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: fwd.Addr().String()})}}
	resp, err := client.Get("http://denied.test/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || asked.Load() != 1 {
		t.Errorf("through the forwarder: %d, the proxy asked %d times", resp.StatusCode, asked.Load())
	}
	srv.Close()
	client.CloseIdleConnections()
	defer func(w time.Duration) { egressStartWait = w }(egressStartWait)
	egressStartWait = 200 * time.Millisecond // the forwarder waits this long for the proxy to come back
	resp, err = client.Get("http://denied.test/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway {
		t.Errorf("with the proxy gone: %d", resp.StatusCode)
	}
}

// fakeProxy serves h where the fleet's egress proxy serves this agent, on a unix socket;
// it returns the socket's path and the server, closed at the test's end. The proxy's own
// side is egress's to test.
func fakeProxy(t *testing.T, h http.Handler) (string, *httptest.Server) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), agentstate.EgressSocketName)
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return sock, srv
}

// An agent starts alongside the proxy: a connection waits for the proxy's socket to
// appear, within its bound, and fails past it.
func TestDialEgressWaitsForTheProxy(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "egress.sock")
	go func() {
		time.Sleep(300 * time.Millisecond)
		ln, err := net.Listen("unix", sock)
		if err != nil {
			t.Error(err)
			return
		}
		t.Cleanup(func() { ln.Close() })
		if c, err := ln.Accept(); err == nil {
			c.Close()
		}
	}()
	c, err := dialEgress(context.Background(), sock, 5*time.Second)
	if err != nil {
		t.Fatalf("the socket that appeared was not reached: %v", err)
	}
	c.Close()
	start := time.Now()
	if _, err := dialEgress(context.Background(), filepath.Join(t.TempDir(), "none.sock"), 300*time.Millisecond); err == nil {
		t.Fatal("a socket that never appears was reached")
	}
	if time.Since(start) > 3*time.Second {
		t.Errorf("waited %s for a bound of 300ms", time.Since(start))
	}
}
