package egress

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
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker-magents/docker-magents/images/supervisor/agentconn"
	"github.com/docker-magents/docker-magents/images/supervisor/agentstate"
	"github.com/docker-magents/docker-magents/images/supervisor/workqueue"
)

func TestAllowlist(t *testing.T) {
	a := ParseAllowlist("api.anthropic.com, *.github.com\nregistry.npmjs.org. 10.0.0.7 gateway.test:8080")
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
	p := New(ParseAllowlist("allowed.test,*.tunnel.test"), &log)
	// Names resolve to the local test servers; the client is "agent-2".
	p.dial = func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, _ := net.SplitHostPort(addr)
		target := strings.TrimPrefix(upstream.URL, "http://")
		if strings.HasSuffix(host, "tunnel.test") {
			target = echo.Addr().String()
		}
		return (&net.Dialer{}).DialContext(ctx, network, target)
	}
	client, dial := serveAgent(t, p, "agent-2")

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
		c := dial()
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

	// The proxy's own port reports every agent's denials; an agent's socket, its own only.
	own := httptest.NewServer(p)
	defer own.Close()
	report := func(c *http.Client, url string) egressReport {
		t.Helper()
		resp, err := c.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var rep egressReport
		if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
			t.Fatal(err)
		}
		return rep
	}
	rep := report(http.DefaultClient, own.URL+"/magents/denied")
	if rep.Counts["agent-2"] != 3 || len(rep.Recent) != 3 || rep.Recent[0].Host != "denied.test:80" || rep.Recent[0].Agent != "agent-2" {
		t.Errorf("report: %+v", rep)
	}
	if rep.Queue != nil {
		t.Errorf("the report has a queue without a dispatcher or the asking: %+v", rep.Queue)
	}
	// With the dispatcher, the operator's report carries the queue when asked (the
	// dashboard's one exec), never an agent's.
	p.Queue = func() []workqueue.Task { return []workqueue.Task{{Prompt: "queued"}} }
	if rep := report(http.DefaultClient, own.URL+"/magents/denied"); rep.Queue != nil {
		t.Errorf("the queue came unasked: %+v", rep.Queue)
	}
	if rep := report(http.DefaultClient, own.URL+"/magents/denied?queue=1"); rep.Queue == nil || len(*rep.Queue) != 1 || (*rep.Queue)[0].Prompt != "queued" {
		t.Errorf("the report's queue: %+v", rep.Queue)
	}
	if rep := report(agentOnly(client), "http://egress-proxy/magents/denied?queue=1"); rep.Queue != nil {
		t.Errorf("an agent got the queue: %+v", rep.Queue)
	}
	p.Queue = nil
	other, _ := serveAgent(t, p, "agent-1")
	if _, err := other.Get("http://denied-too.test/"); err != nil {
		t.Fatal(err)
	}
	if rep := report(agentOnly(client), "http://egress-proxy/magents/denied"); rep.Counts["agent-2"] != 3 || len(rep.Counts) != 1 || len(rep.Recent) != 3 {
		t.Errorf("agent-2's own report: %+v", rep)
	}
	if lines := strings.Count(log.String(), `"event":"egress-denied"`); lines != 4 || !strings.Contains(log.String(), `"agent":"agent-2"`) {
		t.Errorf("denial log:\n%s", log.String())
	}
}

// serveAgent serves p on a unix socket for agent, as the proxy does for each agent's
// directory, and returns a client whose proxy is that socket and a way to dial it.
func serveAgent(t *testing.T, p *Proxy, agent string) (*http.Client, func() net.Conn) {
	t.Helper()
	path, _ := serveAgentSocket(t, p, agent, agentconn.NewCaps(agentconn.MaxConnsPerClient, agentconn.MaxConns))
	client := &http.Client{Transport: &http.Transport{
		Proxy: http.ProxyURL(&url.URL{Scheme: "http", Host: "127.0.0.1:3128"}),
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", path)
		},
	}}
	return client, func() net.Conn {
		c, err := net.Dial("unix", path)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
}

// serveAgentSocket serves p on agent's unix socket, in a short temporary directory (a
// socket's path has at most 108 bytes), behind caps when given; it returns the socket's
// path and the server, closed at the test's end.
func serveAgentSocket(t *testing.T, p *Proxy, agent string, caps *agentconn.Caps) (string, *http.Server) {
	t.Helper()
	dir, err := os.MkdirTemp("", "sock")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, agentstate.EgressSocketName)
	ln, err := agentconn.Listen(path, agent)
	if err != nil {
		t.Fatal(err)
	}
	if caps != nil {
		ln = caps.Limit(ln)
	}
	srv := &http.Server{Handler: p, ConnContext: agentconn.ConnContext}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return path, srv
}

// agentOnly is c asking the proxy itself (a path, not a proxied URL).
func agentOnly(c *http.Client) *http.Client {
	tr := c.Transport.(*http.Transport).Clone()
	tr.Proxy = nil
	return &http.Client{Transport: tr}
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
	p := New(ParseAllowlist("sink.test:9"), io.Discard)
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
// maxDenialLogs lines a minute (the next says how many it left out).
func TestDenialFloodIsBounded(t *testing.T) {
	var log bytes.Buffer
	p := New(ParseAllowlist("allowed.test"), &log)
	client, _ := serveAgent(t, p, "agent-1")
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
	if p.counts["agent-1"] != 100 {
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

// With the gateway, the model's host is the gateway's alone: refused to an agent even when
// listed, and quietly (it is no problem of the agent's to report).
func TestModelHostIsTheGatewaysAlone(t *testing.T) {
	var log bytes.Buffer
	p := New(Allowlist{"api.anthropic.com"}, &log)
	p.ModelHosts = map[string]bool{"api.anthropic.com:443": true}
	client, _ := serveAgent(t, p, "agent-1")
	req, _ := http.NewRequest(http.MethodConnect, "http://api.anthropic.com:443", nil)
	req.Host = "api.anthropic.com:443"
	resp, err := agentOnly(client).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(body), "through its gateway only") {
		t.Fatalf("CONNECT to the model's host: %d %s", resp.StatusCode, body)
	}
	if len(p.counts) != 0 || log.Len() != 0 {
		t.Errorf("counted or logged as a denial: %v %q", p.counts, log.String())
	}
}
