package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestAllowlist(t *testing.T) {
	a := parseAllowlist("api.anthropic.com, *.github.com\nregistry.npmjs.org. 10.0.0.7 gateway.test:8080")
	for hostport, want := range map[string]bool{
		"api.anthropic.com:443":      true,
		"API.Anthropic.com.:443":     true,
		"api.anthropic.com:80":       true,
		"api.anthropic.com:22":       false,
		"evil-api.anthropic.com:443": false,
		"anthropic.com:443":          false,
		"objects.github.com:443":     true,
		"a.b.github.com:443":         true,
		"github.com:443":             false,
		"github.com.evil.org:443":    false,
		"registry.npmjs.org:443":     true,
		"10.0.0.7:443":               true,
		"10.0.0.8:443":               false,
		"gateway.test:8080":          true,
		"gateway.test:443":           false,
		":443":                       false,
	} {
		host, port, _ := strings.Cut(hostport, ":")
		if got := a.allows(host, port); got != want {
			t.Errorf("allows(%q, %q) = %v, want %v", host, port, got, want)
		}
	}
}

// The proxy forwards plain HTTP and tunnels CONNECT to allowed hosts only, and logs and
// counts every denial with the agent that asked.
func TestEgressProxy(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "upstream saw %s %s", r.Host, r.URL.Path)
	}))
	defer upstream.Close()
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(c, c) }()
		}
	}()
	var log bytes.Buffer
	p := newEgressProxy(parseAllowlist("allowed.test,*.tunnel.test"), &log)
	// Names resolve to the local test servers; the client is "agent-2".
	p.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, _ := net.SplitHostPort(addr)
		target := strings.TrimPrefix(upstream.URL, "http://")
		if strings.HasSuffix(host, "tunnel.test") {
			target = echo.Addr().String()
		}
		return (&net.Dialer{}).DialContext(ctx, network, target)
	}
	p.lookup = func(context.Context, string) ([]string, error) { return []string{"proj-agent-2.proj_agents."}, nil }
	srv := httptest.NewServer(p)
	defer srv.Close()
	proxyURL, _ := url.Parse(srv.URL)
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxyURL)}}

	resp, err := client.Get("http://allowed.test/ok")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "upstream saw allowed.test /ok" {
		t.Errorf("allowed: %d %q", resp.StatusCode, body)
	}
	resp, err = client.Get("http://denied.test/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "--allow denied.test") {
		t.Errorf("denied: %d %q", resp.StatusCode, body)
	}

	tunnel := func(target string) (string, string) {
		c, err := net.Dial("tcp", proxyURL.Host)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
		br := bufio.NewReader(c)
		status, _ := br.ReadString('\n')
		if !strings.Contains(status, " 200 ") {
			return status, ""
		}
		for line, _ := br.ReadString('\n'); line != "\r\n" && line != ""; line, _ = br.ReadString('\n') {
		}
		fmt.Fprint(c, "ping\n")
		echoed, _ := br.ReadString('\n')
		return status, echoed
	}
	if status, echoed := tunnel("git.tunnel.test:443"); echoed != "ping\n" {
		t.Errorf("allowed CONNECT: %q, echoed %q", status, echoed)
	}
	if status, _ := tunnel("tunnel.test:443"); !strings.Contains(status, " 403 ") {
		t.Errorf("CONNECT to the bare domain of a wildcard: %q", status)
	}
	if status, _ := tunnel("203.0.113.9:443"); !strings.Contains(status, " 403 ") {
		t.Errorf("CONNECT to an IP: %q", status)
	}

	resp, err = http.Get(srv.URL + "/magents/denied")
	if err != nil {
		t.Fatal(err)
	}
	var rep egressReport
	if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if rep.Counts["proj-agent-2"] != 3 || len(rep.Recent) != 3 || rep.Recent[0].Host != "denied.test:80" {
		t.Errorf("report: %+v", rep)
	}
	if lines := strings.Count(log.String(), `"event":"egress-denied"`); lines != 3 || !strings.Contains(log.String(), `"agent":"proj-agent-2"`) {
		t.Errorf("denial log:\n%s", log.String())
	}
}

// Health asks the proxy at most once per egressCacheTTL; the answer is kept in the run dir.
func TestCachedEgressDenials(t *testing.T) {
	var asked atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked.Add(1)
		_ = json.NewEncoder(w).Encode(egressReport{Recent: []denial{{Time: time.Now(), Client: "127.0.0.1", Host: "evil.test:443"}}})
	}))
	defer proxy.Close()
	getenv := func(k string) string {
		if k == "HTTP_PROXY" {
			return proxy.URL + "/egress-proxy" // the name marks the fleet's proxy
		}
		return ""
	}
	cfg := config{RunDir: t.TempDir()}
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

// A CONNECT tunnel stays while either way carries data, and ends once both are quiet.
func TestTunnelIdle(t *testing.T) {
	// The upstream only reads: the way back stays quiet while the agent sends.
	sink, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer sink.Close()
	go func() {
		for {
			c, err := sink.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); _, _ = io.Copy(io.Discard, c) }()
		}
	}()
	p := newEgressProxy(parseAllowlist("sink.test:9"), io.Discard)
	p.tunnelIdle = 300 * time.Millisecond
	p.dial = func(ctx context.Context, network, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, network, sink.Addr().String())
	}
	srv := httptest.NewServer(p)
	defer srv.Close()
	c, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, "CONNECT sink.test:9 HTTP/1.1\r\nHost: sink.test:9\r\n\r\n")
	br := bufio.NewReader(c)
	if status, _ := br.ReadString('\n'); !strings.Contains(status, " 200 ") {
		t.Fatalf("CONNECT: %q", status)
	}
	for line, _ := br.ReadString('\n'); line != "\r\n" && line != ""; line, _ = br.ReadString('\n') {
	}
	// Three idle periods of sending one way only: the tunnel stays.
	for range 18 {
		if _, err := fmt.Fprint(c, "data\n"); err != nil {
			t.Fatalf("the tunnel ended while the agent was sending: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Quiet both ways: the proxy ends it.
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	start := time.Now()
	if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
		t.Fatalf("an idle tunnel: %v after %s, want the proxy to close it", err, time.Since(start))
	}
	if d := time.Since(start); d < p.tunnelIdle/2 {
		t.Errorf("the tunnel was closed %s after the agent stopped sending: it ended while one way was busy", d)
	}
}

// A flood of refused requests from one agent: each is counted, but the log takes at most
// maxDenialLogs lines a minute (the next says how many it left out), and the agent's name
// is looked up once, not per request.
func TestDenialFloodIsBounded(t *testing.T) {
	var log bytes.Buffer
	p := newEgressProxy(parseAllowlist("allowed.test"), &log)
	var lookups atomic.Int32
	p.lookup = func(context.Context, string) ([]string, error) {
		lookups.Add(1)
		return []string{"proj-agent-1.proj_agents."}, nil
	}
	srv := httptest.NewServer(p)
	defer srv.Close()
	proxyURL, _ := url.Parse(srv.URL)
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxyURL)}}
	for i := 0; i < 100; i++ {
		resp, err := client.Get(fmt.Sprintf("http://denied%d.test/", i))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("request %d: %d", i, resp.StatusCode)
		}
	}
	if n := strings.Count(log.String(), "\n"); n != maxDenialLogs {
		t.Errorf("%d log lines for 100 denials, want %d", n, maxDenialLogs)
	}
	if n := lookups.Load(); n != 1 {
		t.Errorf("%d reverse lookups for 100 denials", n)
	}
	if p.counts["proj-agent-1"] != 100 {
		t.Errorf("counted %v", p.counts)
	}
	// A minute on, the next line says what was left out.
	p.logWindow = p.logWindow.Add(-time.Minute)
	resp, err := client.Get("http://late.test/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if !strings.Contains(log.String(), `"suppressedBefore":80`) {
		t.Errorf("the line after the flood does not count what was left out:\n%s", log.String())
	}
}

// One client cannot hold more than its share of connections: over the cap, it is
// answered 503 and closed; a connection closed makes room again.
func TestConnectionCaps(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") })}
	go func() { _ = srv.Serve(limitConns(ln, 2, 10)) }()
	defer srv.Close()
	request := func(c net.Conn) string {
		_, _ = io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		line, _ := bufio.NewReader(c).ReadString('\n')
		return strings.TrimSpace(line)
	}
	var held []net.Conn
	for i := 0; i < 2; i++ {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if got := request(c); got != "HTTP/1.1 200 OK" {
			t.Fatalf("connection %d: %q", i+1, got)
		}
		held = append(held, c)
	}
	third, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	if got := request(third); got != "HTTP/1.1 503 Service Unavailable" {
		t.Errorf("a third connection: %q", got)
	}
	third.Close()
	held[0].Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		got := request(c)
		c.Close()
		if got == "HTTP/1.1 200 OK" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no room after a connection closed: %q", got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
