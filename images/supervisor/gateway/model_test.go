package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker-magents/docker-magents/images/supervisor/agentconn"
	"github.com/docker-magents/docker-magents/images/supervisor/agentenv"
	"github.com/docker-magents/docker-magents/images/supervisor/agenttoken"
	"github.com/docker-magents/docker-magents/images/supervisor/gatewaypolicy"
	"github.com/docker-magents/docker-magents/images/supervisor/modelusage"
)

const realKey = "sk-ant-api03-the-fleets-real-key"

// upstream is a Messages API stand-in for the gateway's unit tests (the supervisor's tests
// import the standard library only; the e2e suite runs the real Claude against
// internal/anthropictest): it records each request and answers what reply says, a message
// reporting usage, streamed or whole, or an error.
type upstream struct {
	*httptest.Server
	mu    sync.Mutex
	reqs  []*http.Request
	sent  modelusage.Usage
	reply func(n int) upstreamReply
}

type upstreamReply struct {
	status     int
	retryAfter string
	usage      modelusage.Usage
}

func startUpstream(t *testing.T, reply func(n int) upstreamReply) *upstream {
	u := &upstream{reply: reply}
	if u.reply == nil {
		u.reply = func(int) upstreamReply {
			return upstreamReply{usage: modelusage.Usage{InputTokens: 9, OutputTokens: 7}}
		}
	}
	u.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Model  string `json:"model"`
			Stream bool   `json:"stream"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		u.mu.Lock()
		u.reqs = append(u.reqs, r)
		rep := u.reply(len(u.reqs))
		if rep.status == 0 {
			u.sent.Add(rep.usage)
		}
		u.mu.Unlock()
		if rep.status != 0 {
			if rep.retryAfter != "" {
				w.Header().Set("Retry-After", rep.retryAfter)
			}
			w.WriteHeader(rep.status)
			fmt.Fprintf(w, `{"type":"error","error":{"type":"overloaded_error","message":"scripted"}}`)
			return
		}
		usage := fmt.Sprintf(`{"input_tokens":%d,"output_tokens":%d,"cache_creation_input_tokens":0,"cache_read_input_tokens":%d}`, rep.usage.InputTokens, rep.usage.OutputTokens, rep.usage.CacheReadInputTokens)
		if !body.Stream {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"type":"message","model":%q,"content":[{"type":"text","text":"OK"}],"usage":%s}`, body.Model, usage)
			return
		}
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprintf(w, "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"model\":%q,\"usage\":{\"input_tokens\":%d,\"output_tokens\":1,\"cache_read_input_tokens\":%d}}}\n\n", body.Model, rep.usage.InputTokens, rep.usage.CacheReadInputTokens)
		w.(http.Flusher).Flush()
		fmt.Fprintf(w, "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"delta\":{\"type\":\"text_delta\",\"text\":\"OK\"}}\n\n")
		fmt.Fprintf(w, "event: message_delta\ndata: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":%d}}\n\n", rep.usage.OutputTokens)
		fmt.Fprintf(w, "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n")
	}))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) requests() []*http.Request {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]*http.Request(nil), u.reqs...)
}

// testGateway is a gateway in front of the Messages API test double, relaying an API key,
// served as it serves agent-1 (the way an agent reaches it) and as it serves the proxy's
// own port; it returns a client for each.
func testGateway(t *testing.T, budgets modelusage.Budgets, reply func(n int) upstreamReply) (g *Model, agentClient, ownClient *http.Client, double *upstream) {
	t.Helper()
	double = startUpstream(t, reply)
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "anthropic_api_key"), []byte(realKey+"\n"), 0o600)
	b, _ := json.Marshal(budgets)
	env := map[string]string{
		"ANTHROPIC_API_KEY_FILE": filepath.Join(dir, "anthropic_api_key"),
		"ANTHROPIC_BASE_URL":     double.URL, "MAGENTS_GATEWAY_BUDGETS": string(b),
	}
	g, _, err := NewModel(func(k string) string { return env[k] }, []byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	g.retryBase = 10 * time.Millisecond
	agentClient = serving(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { g.ServeAgent(w, r, "agent-1") }))
	ownClient = serving(t, http.HandlerFunc(g.ServeOperator))
	return g, agentClient, ownClient, double
}

// serving serves h and returns a client that reaches it whatever a request's URL names.
func serving(t *testing.T, h http.Handler) *http.Client {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "tcp", srv.Listener.Addr().String())
	}}}
}

// claudeRequest is a request as Claude Code sends it through a gateway (ANTHROPIC_AUTH_TOKEN).
func claudeRequest(t *testing.T, token string, stream bool) *http.Request {
	body, _ := json.Marshal(map[string]any{"model": "claude-sonnet-4-5-20250929", "max_tokens": 100, "stream": stream,
		"messages": []any{map[string]any{"role": "user", "content": "Say OK"}}})
	req, err := http.NewRequest(http.MethodPost, "http://127.0.0.1:3128/v1/messages?beta=true", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Anthropic-Version", "2023-06-01")
	req.Header.Set("Anthropic-Beta", "claude-code-20250219,interleaved-thinking-2025-05-14")
	req.Header.Set("User-Agent", "claude-cli/2.1.332 (external, sdk-cli)")
	req.Header.Set("Content-Type", "application/json")
	return req
}

func do(t *testing.T, c *http.Client, req *http.Request) (int, string) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestGatewayRelaysWithTheRealCredentialAndCounts(t *testing.T) {
	g, agent, own, double := testGateway(t, modelusage.Budgets{}, nil)
	token := agenttoken.Of(g.key, "agent-1")
	for _, stream := range []bool{true, false} {
		code, body := do(t, agent, claudeRequest(t, token, stream))
		if code != http.StatusOK || !strings.Contains(body, "OK") {
			t.Fatalf("stream %v: %d %s", stream, code, body)
		}
	}
	reqs := double.requests()
	if len(reqs) != 2 {
		t.Fatalf("the double saw %d requests", len(reqs))
	}
	for _, r := range reqs {
		// Upstream sees what Claude sends with the real API key: x-api-key, no bearer,
		// every other header as the agent sent it.
		if r.Header.Get("X-Api-Key") != realKey || r.Header.Get("Authorization") != "" {
			t.Errorf("upstream credential: x-api-key %q authorization %q", r.Header.Get("X-Api-Key"), r.Header.Get("Authorization"))
		}
		for h, want := range map[string]string{"Anthropic-Version": "2023-06-01", "Anthropic-Beta": "claude-code-20250219,interleaved-thinking-2025-05-14", "User-Agent": "claude-cli/2.1.332 (external, sdk-cli)"} {
			if got := r.Header.Get(h); got != want {
				t.Errorf("upstream %s = %q, want %q", h, got, want)
			}
		}
		if r.URL.Path != "/v1/messages" || r.URL.RawQuery != "beta=true" {
			t.Errorf("upstream URL %s", r.URL)
		}
	}
	// What the gateway counted is what the double reported (counted as the answer ends,
	// moments after the client has it).
	waitCounted(t, g, "agent-1", 2)
	rep := g.book.Report(time.Now())
	got := rep.Agents["agent-1"].Models["claude-sonnet-4-5-20250929"]
	sent := double.sent
	if got.Requests != 2 || got.InputTokens != sent.InputTokens || got.OutputTokens != sent.OutputTokens || got.CostUSD <= 0 {
		t.Fatalf("counted %+v, the double sent %+v", got, sent)
	}
	// The account, on the proxy's own port (the proxy's tests: never an agent's).
	req, _ := http.NewRequest(http.MethodGet, "http://proxy/magents/usage", nil)
	code, body := do(t, own, req)
	var fromOwn modelusage.Report
	if code != http.StatusOK || json.Unmarshal([]byte(body), &fromOwn) != nil || fromOwn.Agents["agent-1"].Total().Requests != 2 {
		t.Errorf("the proxy's own port: %d %s", code, body)
	}
}

// waitCounted waits until the gateway has counted n requests of agent.
func waitCounted(t *testing.T, g *Model, agent string, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); g.book.Report(time.Now()).Agents[agent].Total().Requests < n; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the gateway counted %d requests, want %d", g.book.Report(time.Now()).Agents[agent].Total().Requests, n)
		}
	}
}

// The Messages API alone: the Files and Batches APIs (the whole account's data, spending no
// budget sees) are refused, whatever the token.
func TestGatewayRelaysTheMessagesAPIOnly(t *testing.T) {
	g, agent, _, double := testGateway(t, modelusage.Budgets{}, nil)
	token := agenttoken.Of(g.key, "agent-1")
	for _, c := range []struct{ method, path string }{
		{http.MethodGet, "/v1/files"}, {http.MethodGet, "/v1/messages/batches"}, {http.MethodPost, "/v1/messages/batches"},
		{http.MethodPost, "/v1/complete"}, {http.MethodGet, "/v1/messages"}, {http.MethodPost, "/v1/../v1/files"},
	} {
		req, _ := http.NewRequest(c.method, "http://127.0.0.1:3128"+c.path, strings.NewReader("{}"))
		req.Header.Set("Authorization", "Bearer "+token)
		if code, _ := do(t, agent, req); code != http.StatusForbidden {
			t.Errorf("%s %s: %d", c.method, c.path, code)
		}
	}
	if n := len(double.requests()); n != 0 {
		t.Errorf("%d refused requests reached upstream", n)
	}
}

// The gateway relays only what it can meter and contain: a server tool that acts from
// Anthropic's servers, the MCP connector, an unknown beta and a model the price table
// does not know never reach the API, and the refusal says what allows it; what the fleet
// allows by name goes through.
func TestGatewayRelaysOnlyWhatItCanMeter(t *testing.T) {
	g, agent, _, double := testGateway(t, modelusage.Budgets{}, nil)
	token := agenttoken.Of(g.key, "agent-1")
	send := func(beta, body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:3128/v1/messages", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		if beta != "" {
			req.Header.Set("anthropic-beta", beta)
		}
		return do(t, agent, req)
	}
	for _, c := range []struct{ beta, body, want string }{
		{"", `{"model":"claude-sonnet-4-5","tools":[{"type":"web_fetch_20250910","name":"web_fetch"}]}`, "--gateway-allow web_fetch"},
		{"", `{"model":"claude-sonnet-4-5","mcp_servers":[{"type":"url","url":"https://x.example/mcp","name":"x"}]}`, "--gateway-allow mcp_servers"},
		{"claude-code-20250219,files-api-2025-04-14", `{"model":"claude-sonnet-4-5"}`, "--gateway-allow files-api-2025-04-14"},
		{"", `{"model":"gpt-free-lunch"}`, `the model \"gpt-free-lunch\" is not in the gateway's price table`},
		{"", `{"messages":[]}`, `the model \"\" is not in the gateway's price table`},
	} {
		code, body := send(c.beta, c.body)
		if code/100 != 4 || !strings.Contains(body, c.want) {
			t.Errorf("%s %s: %d %s", c.beta, c.body, code, body)
		}
	}
	if n := len(double.requests()); n != 0 {
		t.Errorf("%d refused requests reached upstream", n)
	}
	g.allowed = gatewaypolicy.Allowed{"web_search"}
	if code, body := send("claude-code-20250219", `{"model":"claude-sonnet-4-5","tools":[{"type":"web_search_20250305","name":"web_search"}]}`); code != http.StatusOK {
		t.Errorf("an allowed web search: %d %s", code, body)
	}
	if n := len(double.requests()); n != 1 {
		t.Errorf("%d requests reached upstream, want the allowed one", n)
	}
}

func TestGatewayRefusesAnotherAgentsToken(t *testing.T) {
	g, agent, _, double := testGateway(t, modelusage.Budgets{}, nil)
	for _, tok := range []string{agenttoken.Of(g.key, "agent-2"), "", realKey, agenttoken.Of([]byte("another fleet's key!"), "agent-1")} {
		code, body := do(t, agent, claudeRequest(t, tok, false))
		if code != http.StatusUnauthorized || !strings.Contains(body, "authentication_error") {
			t.Errorf("token %.20q: %d %s", tok, code, body)
		}
	}
	if n := len(double.requests()); n != 0 {
		t.Errorf("%d refused requests reached upstream", n)
	}
}

func TestGatewayEnforcesBudgets(t *testing.T) {
	// Each answer costs 1000×$3 + 1000×$15 per million: $0.018.
	g, agent, own, double := testGateway(t, modelusage.Budgets{AgentUSD: 0.03}, func(int) upstreamReply {
		return upstreamReply{usage: modelusage.Usage{InputTokens: 1000, OutputTokens: 1000}}
	})
	token := agenttoken.Of(g.key, "agent-1")
	for i := range 2 {
		if code, body := do(t, agent, claudeRequest(t, token, true)); code != http.StatusOK {
			t.Fatalf("request %d under budget: %d %s", i, code, body)
		}
		waitCounted(t, g, "agent-1", i+1)
	}
	code, body := do(t, agent, claudeRequest(t, token, true))
	if code != http.StatusPaymentRequired || !strings.Contains(body, "billing_error") || !strings.Contains(body, "agent-1 reached its budget of $0.03") {
		t.Fatalf("over budget: %d %s", code, body)
	}
	if n := len(double.requests()); n != 2 {
		t.Fatalf("a refused request reached upstream: %d", n)
	}
	if rep := g.book.Report(time.Now()); !rep.Agents["agent-1"].Exceeded || rep.Agents["agent-1"].Refused != 1 {
		t.Fatalf("report: %+v", rep.Agents["agent-1"])
	}
	// Raised on the proxy's own port: the agent goes on.
	req, _ := http.NewRequest(http.MethodPost, "http://proxy/magents/budget", strings.NewReader(`{"agent_usd":1}`))
	if code, body := do(t, own, req); code != http.StatusOK {
		t.Fatalf("raising: %d %s", code, body)
	}
	if code, body := do(t, agent, claudeRequest(t, token, true)); code != http.StatusOK {
		t.Fatalf("after raising: %d %s", code, body)
	}
}

func TestGatewayWaitsOutOverload(t *testing.T) {
	g, agent, own, double := testGateway(t, modelusage.Budgets{}, func(n int) upstreamReply {
		switch {
		case n == 1 || n > 3:
			return upstreamReply{status: 529}
		case n == 2:
			return upstreamReply{status: 429, retryAfter: "0"}
		}
		return upstreamReply{usage: modelusage.Usage{InputTokens: 5}}
	})
	if code, body := do(t, agent, claudeRequest(t, agenttoken.Of(g.key, "agent-1"), false)); code != http.StatusOK {
		t.Fatalf("%d %s", code, body)
	}
	if n := len(double.requests()); n != 3 {
		t.Fatalf("upstream called %d times", n)
	}
	// Past its retries the answer is passed on, as the API gave it.
	code, body := do(t, agent, claudeRequest(t, agenttoken.Of(g.key, "agent-1"), false))
	if code != 529 || !strings.Contains(body, "overloaded_error") {
		t.Fatalf("after the retries: %d %s", code, body)
	}
	req, _ := http.NewRequest(http.MethodGet, "http://proxy/metrics", nil)
	_, metrics := do(t, own, req)
	for _, want := range []string{`magents_gateway_upstream_retries_total 5`, `magents_gateway_requests_total{agent="agent-1",code="529"} 1`, `magents_gateway_cost_usd_total{agent="agent-1"}`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s:\n%s", want, metrics)
		}
	}
}

func TestGatewayAccountSurvivesRestart(t *testing.T) {
	g, agent, _, _ := testGateway(t, modelusage.Budgets{}, nil)
	do(t, agent, claudeRequest(t, agenttoken.Of(g.key, "agent-1"), true))
	waitCounted(t, g, "agent-1", 1)
	path := filepath.Join(t.TempDir(), "gateway.json")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { g.Keep(ctx, path, modelusage.Budgets{}); close(done) }()
	cancel()
	<-done
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	again, err := modelusage.Load(data, nil, modelusage.Budgets{})
	if err != nil || again.Report(time.Now()).Agents["agent-1"].Total().Requests != 1 {
		t.Fatalf("reloaded: %v %+v", err, again.Report(time.Now()))
	}
}

// Bodies trickling in cannot starve the gateway: five requests announcing 32 MiB each,
// sent slowly, get the room of one (the others are answered 529 at once, before a byte of
// theirs is held); a sixth, small, goes through meanwhile; the slow one is cut once it
// stops sending; and what was held is all given back.
func TestGatewayHoldsUnderSlowBodies(t *testing.T) {
	g, agent, _, double := testGateway(t, modelusage.Budgets{}, nil)
	bodyIdle = 500 * time.Millisecond
	t.Cleanup(func() { bodyIdle = 30 * time.Second })
	token := agenttoken.Of(g.key, "agent-1")
	type answer struct {
		code int
		body string
	}
	answers := make(chan answer, 5)
	var senders []*io.PipeWriter
	for range 5 {
		body, send := io.Pipe()
		senders = append(senders, send)
		req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:3128/v1/messages", body)
		req.ContentLength = maxRequestBody
		req.Header.Set("Authorization", "Bearer "+token)
		go func() {
			resp, err := agent.Do(req)
			if err != nil {
				answers <- answer{0, err.Error()}
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			answers <- answer{resp.StatusCode, string(b)}
		}()
		go send.Write([]byte(`{"model":"claude-sonnet-4-5","messages":[`)) // then nothing
	}
	defer func() {
		for _, s := range senders {
			s.Close()
		}
	}()
	overloaded := 0
	for range 4 {
		select {
		case a := <-answers:
			if a.code != 529 || !strings.Contains(a.body, "too many requests in flight") {
				t.Fatalf("a slow body over the bound: %d %s", a.code, a.body)
			}
			overloaded++
		case <-time.After(5 * time.Second):
			t.Fatalf("%d of the four slow bodies over the bound were answered; the others wait", overloaded)
		}
	}
	if held := g.buffered.Load(); held != maxRequestBody {
		t.Errorf("the gateway holds %d bytes for the slow bodies, want the room of one (%d)", held, maxRequestBody)
	}
	req, _ := http.NewRequest(http.MethodPost, "http://127.0.0.1:3128/v1/messages", strings.NewReader(`{"model":"claude-sonnet-4-5","messages":[]}`))
	req.Header.Set("Authorization", "Bearer "+token)
	if code, body := do(t, agent, req); code != http.StatusOK {
		t.Fatalf("a small request while slow bodies are held: %d %s", code, body)
	}
	select {
	case a := <-answers:
		if a.code != http.StatusBadRequest || !strings.Contains(a.body, "reading the request") {
			t.Errorf("the slow body that stopped sending: %d %s", a.code, a.body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the slow body that stopped sending still holds its room")
	}
	if held := g.buffered.Load(); held != 0 {
		t.Errorf("the gateway still holds %d bytes", held)
	}
	if n := len(double.requests()); n != 1 {
		t.Errorf("%d requests reached upstream, want the small one", n)
	}
}

// The arithmetic of the gateway's bounds: everything it may hold at once fits under Go's
// soft limit, which is under the container's.
func TestGatewayBoundsFitTheProxysMemory(t *testing.T) {
	const runtime = 8 << 20 // the runtime, the binary's own data, goroutine stacks
	copyBuffers := int64(agentconn.MaxConns) * 2 * 32 << 10
	if held := int64(maxBufferedBodies) + copyBuffers + runtime; held > MemoryLimit {
		t.Errorf("bodies %d MiB + copy buffers %d MiB + runtime %d MiB = %d MiB, over the soft limit of %d MiB",
			maxBufferedBodies>>20, copyBuffers>>20, runtime>>20, held>>20, MemoryLimit>>20)
	}
	if MemoryLimit >= agentenv.ProxyMemory || maxRequestBody > maxBufferedBodies {
		t.Errorf("soft limit %d MiB, container %d MiB, one body %d MiB of %d", MemoryLimit>>20, agentenv.ProxyMemory>>20, maxRequestBody>>20, maxBufferedBodies>>20)
	}
}
