package proxy

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/docker-magents/docker-magents/images/supervisor/agentconn"
	"github.com/docker-magents/docker-magents/images/supervisor/agentstate"
	"github.com/docker-magents/docker-magents/images/supervisor/agenttoken"
	"github.com/docker-magents/docker-magents/images/supervisor/dispatch"
	"github.com/docker-magents/docker-magents/images/supervisor/egress"
	"github.com/docker-magents/docker-magents/images/supervisor/gateway"
	"github.com/docker-magents/docker-magents/images/supervisor/protocol"
)

// The dispatcher's .push directory sits beside the agents' socket directories: the
// proxy serves the agents' and never takes it for an agent's.
func TestProxyServesAgentDirectoriesOnly(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{".push", "agent-1"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := &http.Server{Handler: http.NotFoundHandler()}
	defer srv.Close()
	go serveAgentSockets(ctx, srv, dir, agentconn.NewCaps(4, 16), []byte("0123456789abcdef0123456789abcdef"))
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(dir, "agent-1", agentstate.EgressSocketName)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("agent-1's socket never appeared")
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Read in one pass with agent-1's, and before it: nothing was made there.
	if entries, _ := os.ReadDir(filepath.Join(dir, ".push")); len(entries) != 0 {
		t.Errorf("the proxy served .push as an agent: %v", entries)
	}
}

// A refusal of the dispatcher's reaches the host typed: the supervisor's queue command
// prints the Error and exits ExitRefused, and the host decodes it — no text is parsed.
func TestQueueRefusalIsTyped(t *testing.T) {
	d, err := dispatch.New(filepath.Join(t.TempDir(), "queue.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(d.FromOperator))
	defer srv.Close()
	t.Setenv("MAGENTS_PROXY_ADDR", strings.TrimPrefix(srv.URL, "http://"))
	var out strings.Builder
	code := Ask(http.MethodPost, "/magents/queue/cancel?id=task-9", nil, &out)
	perr, ok := protocol.DecodeError([]byte(out.String()))
	if code != protocol.ExitRefused || !ok || perr.Status != http.StatusConflict || !strings.Contains(perr.Message, "task-9") {
		t.Fatalf("exit %d, %q", code, out.String())
	}
}

func TestGatewayWritesEachAgentItsToken(t *testing.T) {
	dir := t.TempDir()
	key := []byte("0123456789abcdef0123456789abcdef")
	os.Symlink("/etc/passwd", filepath.Join(dir, agentTokenFile))
	if err := writeAgentToken(key, dir, "agent-3"); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, agentTokenFile))
	if err != nil || strings.TrimSpace(string(b)) != agenttoken.Of(key, "agent-3") {
		t.Fatalf("token file: %q %v", b, err)
	}
	if st, _ := os.Lstat(filepath.Join(dir, agentTokenFile)); st.Mode().Perm() != 0o600 || st.Mode()&os.ModeSymlink != 0 {
		t.Fatalf("token file mode %v", st.Mode())
	}
	if agenttoken.Of(key, "agent-3") == agenttoken.Of(key, "agent-4") {
		t.Fatal("two agents share a token")
	}
}

// testModel is a model gateway in front of a stand-in of the Messages API that answers
// every request with a short message; it returns the gateway, the fleet's key and how
// many requests reached the stand-in. (The gateway's own tests hold the real double.)
func testModel(t *testing.T) (*gateway.Model, []byte, *atomic.Int32) {
	return testModelAnswering(t, 0)
}

// testModelAnswering is testModel whose stand-in takes pause to answer.
func testModelAnswering(t *testing.T, pause time.Duration) (*gateway.Model, []byte, *atomic.Int32) {
	t.Helper()
	reached := new(atomic.Int32)
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached.Add(1)
		time.Sleep(pause)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"type":"message","model":"claude-sonnet-4-5","content":[{"type":"text","text":"OK"}],"usage":{"input_tokens":9,"output_tokens":7}}`)
	}))
	t.Cleanup(api.Close)
	env := map[string]string{"ANTHROPIC_API_KEY": "sk-ant-api03-the-fleets-real-key", "ANTHROPIC_BASE_URL": api.URL}
	key := []byte("0123456789abcdef0123456789abcdef")
	g, _, err := gateway.NewModel(func(k string) string { return env[k] }, key)
	if err != nil {
		t.Fatal(err)
	}
	return g, key, reached
}

// A cluster's agents reach the gateway over the network: each request is its agent's by
// the token alone. It relays and counts for the token's agent, refuses any other token and
// every egress request, and gives an agent none of the proxy's own answers.
func TestGatewayOverTheNetworkKnowsAgentsByToken(t *testing.T) {
	g, key, reached := testModel(t)
	h := &handler{egress: egress.New(nil, io.Discard), model: g}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := serveAgentsByToken(ctx, h, ln, nil, []string{"agent-1"}, agentconn.NewCaps(8, 8), &sync.WaitGroup{}); err == nil {
		t.Fatal("served agents with no key to know them by")
	}
	if err := serveAgentsByToken(ctx, h, ln, key, []string{"agent-1", "agent-2", ""}, agentconn.NewCaps(8, 8), &sync.WaitGroup{}); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(messages("http://"+ln.Addr().String()+"/v1/messages", agenttoken.Of(key, "agent-2")))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "OK") {
		t.Fatalf("agent-2's request: %d %s", resp.StatusCode, body)
	}
	for deadline := time.Now().Add(5 * time.Second); g.Report(time.Now()).Agents["agent-2"].Total().Requests != 1; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("agent-2's request was not counted")
		}
	}
	// The rest as the port's handler answers them.
	ask := func(req *http.Request) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		byToken{h: h, key: key, names: []string{"agent-1", "agent-2"}}.ServeHTTP(w, req)
		return w
	}
	for _, tok := range []string{agenttoken.Of(key, "agent-3"), "", "sk-ant-api03-the-fleets-real-key", agenttoken.Of([]byte("another fleet's key!"), "agent-1")} {
		if w := ask(messages("/v1/messages", tok)); w.Code != http.StatusUnauthorized || !strings.Contains(w.Body.String(), "authentication_error") {
			t.Errorf("token %.20q: %d %s", tok, w.Code, w.Body)
		}
	}
	// No egress, whoever asks, and not the account: that is the proxy's own port's.
	connect, _ := http.NewRequest(http.MethodConnect, "http://example.com:443", nil)
	connect.Header.Set("Authorization", "Bearer "+agenttoken.Of(key, "agent-1"))
	if w := ask(connect); w.Code != http.StatusForbidden {
		t.Errorf("CONNECT through the gateway's network port: %d", w.Code)
	}
	usage, _ := http.NewRequest(http.MethodGet, "/magents/usage", nil)
	usage.Header.Set("Authorization", "Bearer "+agenttoken.Of(key, "agent-1"))
	if w := ask(usage); w.Code != http.StatusForbidden {
		t.Errorf("an agent read the account over the network: %d", w.Code)
	}
	if n := reached.Load(); n != 1 {
		t.Errorf("%d requests reached upstream, want agent-2's one", n)
	}
}

// Each request goes to its role as who asks allows: the account and the budgets are the
// proxy's own port's, never an agent's; the gateway is the agents' alone, each through its
// own socket.
func TestRoutesByWhoAsks(t *testing.T) {
	g, key, reached := testModel(t)
	h := &handler{egress: egress.New(nil, io.Discard), model: g}
	// agent "" asks on the proxy's own port.
	ask := func(agent string, req *http.Request) *httptest.ResponseRecorder {
		if agent != "" {
			req = req.WithContext(agentconn.WithAgent(req.Context(), agent))
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	token := agenttoken.Of(key, "agent-1")
	if w := ask("agent-1", messages("/v1/messages", token)); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "OK") {
		t.Fatalf("the agent's request: %d %s", w.Code, w.Body)
	}
	usage, _ := http.NewRequest(http.MethodGet, "/magents/usage", nil)
	if w := ask("agent-1", usage); w.Code != http.StatusForbidden {
		t.Errorf("an agent read the account: %d", w.Code)
	}
	budget, _ := http.NewRequest(http.MethodPost, "/magents/budget", strings.NewReader(`{"fleet_usd":1000}`))
	if w := ask("agent-1", budget); w.Code != http.StatusForbidden {
		t.Errorf("an agent set the budgets: %d", w.Code)
	}
	if w := ask("", usage); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "agent-1") {
		t.Errorf("the proxy's own port: %d %s", w.Code, w.Body)
	}
	// Nobody but an agent, through its own socket, uses the gateway.
	if w := ask("", messages("/v1/messages", token)); w.Code != http.StatusForbidden || !strings.Contains(w.Body.String(), "permission_error") {
		t.Errorf("the gateway answered its own port: %d %s", w.Code, w.Body)
	}
	if n := reached.Load(); n != 1 {
		t.Errorf("%d requests reached upstream, want the agent's one", n)
	}
}

// messages is a Messages API request to target with token, as Claude sends it through the
// gateway.
func messages(target, token string) *http.Request {
	req, _ := http.NewRequest(http.MethodPost, target, strings.NewReader(`{"model":"claude-sonnet-4-5","max_tokens":100,"messages":[{"role":"user","content":"Say OK"}]}`))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	return req
}

// A gateway stopped (docker stop, docker restart) with an answer under way lets it end
// within its grace and counts it at what it cost: only a kill leaves a request to be
// counted at its reservation.
func TestStopLetsAnswersEnd(t *testing.T) {
	g, key, reached := testModelAnswering(t, 500*time.Millisecond)
	h := &handler{egress: egress.New(nil, io.Discard), model: g}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var stopping sync.WaitGroup
	if err := serveAgentsByToken(ctx, h, ln, key, []string{"agent-1"}, agentconn.NewCaps(8, 8), &stopping); err != nil {
		t.Fatal(err)
	}
	answered := make(chan string, 1)
	go func() {
		resp, err := http.DefaultClient.Do(messages("http://"+ln.Addr().String()+"/v1/messages", agenttoken.Of(key, "agent-1")))
		if err != nil {
			answered <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		answered <- string(b)
	}()
	for deadline := time.Now().Add(5 * time.Second); reached.Load() == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the request never reached upstream")
		}
	}
	stop()
	stopping.Wait()
	got := g.Report(time.Now()).Agents["agent-1"].Total()
	if got.Requests != 1 || got.InputTokens != 9 || got.OutputTokens != 7 {
		t.Errorf("stopped with an answer under way, the gateway counts %+v; the answer was 9 tokens in, 7 out", got)
	}
	if body := <-answered; !strings.Contains(body, `"OK"`) {
		t.Errorf("the agent's answer was cut by the stop: %q", body)
	}
}
