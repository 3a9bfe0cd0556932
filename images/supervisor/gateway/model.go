// Package gateway is what the proxy container holds for the fleet's agents that they may
// not hold themselves: the model gateway (the fleet's Claude credential, budgets and
// account) and the git relay (the fleet's git credential).
package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/docker-magents/docker-magents/images/supervisor/agentenv"
	"github.com/docker-magents/docker-magents/images/supervisor/agenttoken"
	"github.com/docker-magents/docker-magents/images/supervisor/atomicfile"
	"github.com/docker-magents/docker-magents/images/supervisor/credential"
	"github.com/docker-magents/docker-magents/images/supervisor/gatewaypolicy"
	"github.com/docker-magents/docker-magents/images/supervisor/httprelay"
	"github.com/docker-magents/docker-magents/images/supervisor/logs"
	"github.com/docker-magents/docker-magents/images/supervisor/modelusage"
)

// The model gateway is the egress proxy's other half (MAGENTS_GATEWAY_KEY_FILE set): it
// holds the fleet's real credential and stands between the agents and the Messages API.
// An agent's ANTHROPIC_BASE_URL is its loopback proxy port, so Claude's requests reach the
// proxy through the agent's own socket as ordinary (origin-form) requests; the gateway
// checks the agent's own token (ANTHROPIC_AUTH_TOKEN, an HMAC of the agent's name under
// the fleet's key, which the proxy writes into the agent's socket directory), refuses an
// agent over its budget, sends the request upstream with the real credential in its place
// and streams the answer back unchanged, counting the usage it reports. An agent — or
// whatever steals its environment — never holds the real credential; the model's host is
// not on the agents' allowlist.

// Model is the model gateway.
type Model struct {
	upstream *url.URL
	key      []byte
	// credential reads the fleet's credential on every request (a rotated one is used at
	// once): the variable Claude would have read it from, and the value.
	credential func() (name, value string, err error)
	book       *modelusage.Book
	transport  http.RoundTripper
	// Retries on 429 and 529 before the answer is passed on, each after the upstream's
	// retry-after (or a doubling backoff from retryBase), none past retryMax.
	retries   int
	retryBase time.Duration
	retryMax  time.Duration
	metrics   gatewayMetrics
	// Denied: the fleet keeps its agents from the model (up --allow-model-endpoint=false).
	Denied bool
	// allowed: the optional server tools, fields and betas the fleet lets through.
	allowed gatewaypolicy.Allowed
	// buffered is the bytes reserved for requests held now; inFlight each agent's
	// requests under way (*atomic.Int32).
	buffered atomic.Int64
	inFlight sync.Map
	// Task names the queue's task an agent works on (its usage is counted for it too), and
	// OverBudget ends that task when the agent is refused for a budget.
	Task       func(agent string) string
	OverBudget func(agent, why string)
}

// Upstream is the model endpoint, without a password: for the log.
func (g *Model) Upstream() string { return g.upstream.Redacted() }

// UpstreamHostPort is the model endpoint's host and port, as the allowlist names them.
func (g *Model) UpstreamHostPort() string {
	port := g.upstream.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[g.upstream.Scheme]
	}
	return net.JoinHostPort(g.upstream.Hostname(), port)
}

// APIError answers as the Messages API does, so Claude shows the message on screen.
func APIError(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"type": "error", "error": map[string]string{"type": typ, "message": msg}})
}

// The gateway's bounds on what it holds. A request is held whole, to be sent again after
// a 429 or 529: at most maxRequestBody (the API takes 32 MB), maxUnsizedBody without a
// Content-Length; its room is reserved before its body is read, so bodies trickling in
// together cannot pass maxBufferedBodies between them, and a body that sends nothing for
// bodyIdle is cut. An agent has at most maxAgentRequests under way.
//
// The proxy's container has 128 MiB (agentenv.ProxyMemory), and the supervisor sets Go's
// soft limit to MemoryLimit, so that the collector works before the container is
// out of room: 48 MiB of bodies held, at most 1024 connections (agentconn.MaxConns) with
// two 32 KiB copy buffers each for answers and tunnels streaming (64 MiB), and the
// runtime's own few MiB fit under 120 MiB — a fleet that asks for more is answered 529
// and retries.
const (
	maxRequestBody    = 32 << 20
	maxUnsizedBody    = 4 << 20
	maxBufferedBodies = 48 << 20
	maxAgentRequests  = 16
	// MemoryLimit is Go's soft limit in the proxy's container.
	MemoryLimit = 120 << 20
)

var bodyIdle = 30 * time.Second // a variable for the tests

// relayed: what the gateway sends on, the Messages API's and the model list (the
// supervisor's credential check).
func relayed(method, path string) bool {
	switch path {
	case "/v1/messages", "/v1/messages/count_tokens":
		return method == http.MethodPost
	case "/v1/models":
		return method == http.MethodGet
	}
	return false
}

// ServeAgent answers agent's request of the Messages API (from its own socket, or known by
// its token over a network).
func (g *Model) ServeAgent(w http.ResponseWriter, r *http.Request, agent string) {
	if !agenttoken.Valid(g.key, agent, agenttoken.Presented(r)) {
		g.metrics.count(agent, http.StatusUnauthorized)
		APIError(w, http.StatusUnauthorized, "authentication_error", "docker-magents model gateway: this is not "+agent+"'s gateway token (restart the agent: docker magents up)")
		return
	}
	// The Messages API alone: no Files or Batches API (whose data is the whole account's,
	// and whose spending no budget would see).
	if !relayed(r.Method, r.URL.Path) {
		g.metrics.count(agent, http.StatusForbidden)
		APIError(w, http.StatusForbidden, "permission_error", "docker-magents model gateway: it relays the Messages API only (POST /v1/messages, POST /v1/messages/count_tokens, GET /v1/models), not "+r.Method+" "+r.URL.Path)
		return
	}
	metered := r.URL.Path == "/v1/messages"
	task := g.Task(agent)
	if metered {
		if err := g.book.Allow(agent); err != nil {
			g.OverBudget(agent, err.Error())
			g.metrics.count(agent, http.StatusPaymentRequired)
			APIError(w, http.StatusPaymentRequired, "billing_error", "docker-magents model gateway: "+err.Error())
			return
		}
	}
	body, status, err := g.readBody(w, r, agent)
	if err != nil {
		g.metrics.count(agent, status)
		typ := map[int]string{529: "overloaded_error", http.StatusRequestEntityTooLarge: "request_too_large"}[status]
		if typ == "" {
			typ = "invalid_request_error"
		}
		APIError(w, status, typ, "docker-magents model gateway: "+err.Error())
		return
	}
	defer g.release(agent, int64(cap(body)))
	// What the gateway could not meter or contain is not sent at all.
	if refusal := gatewaypolicy.Check(r.Header, body, g.allowed); refusal != nil {
		g.metrics.count(agent, http.StatusForbidden)
		APIError(w, http.StatusForbidden, "permission_error", "docker-magents model gateway: "+refusal.Error())
		return
	}
	var reservation uint64
	if metered {
		model := modelusage.ReadModel(body)
		if !modelusage.Known(model) {
			g.metrics.count(agent, http.StatusBadRequest)
			APIError(w, http.StatusBadRequest, "invalid_request_error", fmt.Sprintf("docker-magents model gateway: the model %q is not in the gateway's price table (%s), so what it spends could not be counted against budgets: use a model the table lists (the README's price table shows them)", model, modelusage.PricesSource()))
			return
		}
		// The request's worst case is booked, and on disk, before a byte goes upstream:
		// refused when it does not fit a budget, counted at that if the gateway dies.
		id, err := g.book.Reserve(agent, task, model, modelusage.Worst(model, body))
		if held, ok := err.(*modelusage.HeldError); ok {
			// Room for it once the requests under way are settled: Claude retries a 529.
			g.metrics.count(agent, 529)
			APIError(w, 529, "overloaded_error", "docker-magents model gateway: "+held.Error())
			return
		}
		if err != nil {
			g.OverBudget(agent, err.Error())
			g.metrics.count(agent, http.StatusPaymentRequired)
			APIError(w, http.StatusPaymentRequired, "billing_error", "docker-magents model gateway: "+err.Error())
			return
		}
		reservation = id
	}
	settle := func(model string, u modelusage.Usage, ended bool) {
		if metered {
			if err := g.book.Settle(reservation, model, u, ended); err != nil {
				logs.Printf("model gateway: settling %s's request: %v", agent, err)
			}
		}
	}
	name, value, err := g.credential()
	if err != nil {
		settle("", modelusage.Usage{}, true) // nothing was sent
		g.metrics.count(agent, http.StatusBadGateway)
		APIError(w, http.StatusInternalServerError, "api_error", "docker-magents model gateway: "+err.Error())
		return
	}
	resp, err := g.roundTrip(r, body, name, value)
	if err != nil {
		// Not sent when it could not connect; else it may have been billed.
		var op *net.OpError
		settle("", modelusage.Usage{}, errors.As(err, &op) && op.Op == "dial")
		g.metrics.count(agent, http.StatusBadGateway)
		APIError(w, http.StatusBadGateway, "api_error", fmt.Sprintf("docker-magents model gateway: reaching %s: %v", g.upstream.Host, err))
		return
	}
	defer resp.Body.Close()
	g.metrics.count(agent, resp.StatusCode)
	httprelay.WriteResponseHead(w, resp)
	if !metered || resp.StatusCode != http.StatusOK {
		// An error answer is not billed.
		settle("", modelusage.Usage{}, true)
		httprelay.FlushCopy(w, resp.Body)
		return
	}
	// The answer arrives decoded (roundTrip leaves Accept-Encoding to Go's transport).
	m := modelusage.NewMeter(resp.Header.Get("Content-Type"))
	httprelay.FlushCopy(w, io.TeeReader(resp.Body, m))
	// An agent that hangs up early is billed all the same: the answer is read to its end
	// (upstream's request does not end with the agent's), and counted — at its
	// reservation when its end never came.
	_, _ = io.Copy(m, resp.Body)
	model, u, ok := m.Result()
	if model == "" {
		model = modelusage.ReadModel(body)
	}
	settle(model, u, ok && m.Ended())
}

// readBody reads the request's body whole, within the gateway's bounds: its room is
// reserved first (at most maxRequestBody, or maxUnsizedBody without a Content-Length),
// against the agent's requests under way and all the bodies held. What it holds is
// given back with release(agent, cap(body)); on an error, nothing is held, and status is
// the answer's.
func (g *Model) readBody(w http.ResponseWriter, r *http.Request, agent string) ([]byte, int, error) {
	size := r.ContentLength
	switch {
	case size > maxRequestBody:
		return nil, http.StatusRequestEntityTooLarge, errors.New("the request is larger than 32 MB")
	case size < 0:
		size = maxUnsizedBody
	}
	counter, _ := g.inFlight.LoadOrStore(agent, new(atomic.Int32))
	if counter.(*atomic.Int32).Add(1) > maxAgentRequests {
		counter.(*atomic.Int32).Add(-1)
		return nil, 529, fmt.Errorf("%s has %d requests under way already; try again", agent, maxAgentRequests)
	}
	if g.buffered.Add(size) > maxBufferedBodies {
		g.release(agent, size)
		return nil, 529, errors.New("too many requests in flight; try again")
	}
	// Into the room reserved, never more: no buffer that doubles as it fills.
	body := make([]byte, size)
	in := httprelay.IdleBody(w, r.Body, bodyIdle)
	n, err := io.ReadFull(in, body)
	if (err == io.EOF || err == io.ErrUnexpectedEOF) && r.ContentLength < 0 {
		err = nil // a body without a Content-Length, shorter than the room
	}
	if err == nil && n == len(body) {
		var more [1]byte
		if m, _ := in.Read(more[:]); m > 0 {
			err = fmt.Errorf("a request of more than %d MiB needs a Content-Length", maxUnsizedBody>>20)
			g.release(agent, size)
			return nil, http.StatusLengthRequired, err
		}
	}
	if err != nil {
		g.release(agent, size)
		return nil, http.StatusBadRequest, fmt.Errorf("reading the request: %v", err)
	}
	return body[:n], 0, nil
}

// release gives back what readBody reserved for one of agent's requests.
func (g *Model) release(agent string, size int64) {
	g.buffered.Add(-size)
	if counter, ok := g.inFlight.Load(agent); ok {
		counter.(*atomic.Int32).Add(-1)
	}
}

// roundTrip sends the agent's request upstream as Claude would have sent it with the
// fleet's credential: the agent's token gives way to the credential, nothing else changes.
// It waits out 429 and 529 while it may.
func (g *Model) roundTrip(r *http.Request, body []byte, credName, credValue string) (*http.Response, error) {
	target := *g.upstream
	target.Path = strings.TrimRight(g.upstream.Path, "/") + r.URL.Path
	target.RawQuery = r.URL.RawQuery
	// Not the agent's context: an answer is read to its end to be counted.
	ctx := context.WithoutCancel(r.Context())
	for attempt := 0; ; attempt++ {
		out, err := http.NewRequestWithContext(ctx, r.Method, target.String(), bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		out.Header = r.Header.Clone()
		for _, h := range httprelay.HopHeaders {
			out.Header.Del(h)
		}
		out.Header.Del("Authorization")
		out.Header.Del("X-Api-Key")
		// Answers the meter can read: Go's transport asks for gzip and decodes it.
		out.Header.Del("Accept-Encoding")
		switch credName {
		case "ANTHROPIC_API_KEY":
			out.Header.Set("X-Api-Key", credValue)
		default: // ANTHROPIC_AUTH_TOKEN
			out.Header.Set("Authorization", "Bearer "+credValue)
		}
		resp, err := g.transport.RoundTrip(out)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != 529 || attempt >= g.retries {
			return resp, nil
		}
		wait, ok := retryAfter(resp.Header, g.retryBase<<attempt, time.Now())
		if !ok || wait > g.retryMax {
			return resp, nil
		}
		resp.Body.Close()
		g.metrics.mu.Lock()
		g.metrics.retried++
		g.metrics.mu.Unlock()
		select {
		case <-r.Context().Done(): // nothing sent yet: the agent is gone
			return nil, r.Context().Err()
		case <-time.After(wait):
		}
	}
}

// retryAfter is how long the upstream asks to wait: retry-after in seconds or as a date,
// else backoff.
func retryAfter(h http.Header, backoff time.Duration, now time.Time) (time.Duration, bool) {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return backoff, true
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		return time.Duration(s * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(0, t.Sub(now)), true
	}
	return 0, false
}

// NewModel reads the gateway's settings: the credential (its *_FILE),
// ANTHROPIC_BASE_URL (else the Messages API), MAGENTS_GATEWAY_BUDGETS (JSON) and
// MAGENTS_GATEWAY_STATE (where the account is kept); key signs the agents' tokens.
func NewModel(getenv func(string) string, key []byte) (*Model, modelusage.Budgets, error) {
	var budgets modelusage.Budgets
	if key == nil {
		return nil, budgets, errors.New("model gateway: the fleet has no key for the agents' tokens (MAGENTS_AGENT_KEY_FILE)")
	}
	base := getenv("ANTHROPIC_BASE_URL")
	if base == "" {
		base = "https://api.anthropic.com"
	}
	up, err := url.Parse(base)
	if err != nil || up.Host == "" || up.Scheme != "http" && up.Scheme != "https" {
		return nil, budgets, fmt.Errorf("model gateway: ANTHROPIC_BASE_URL %q is not an http(s) URL", base)
	}
	if b := getenv(agentenv.GatewayBudgets); b != "" {
		if err := json.Unmarshal([]byte(b), &budgets); err != nil {
			return nil, budgets, fmt.Errorf("model gateway: MAGENTS_GATEWAY_BUDGETS: %w", err)
		}
	}
	g := &Model{
		allowed: gatewaypolicy.Parse(getenv(agentenv.GatewayAllow)),
		Task:    func(string) string { return "" }, OverBudget: func(string, string) {},
		upstream: up, key: key, retries: 3, retryBase: time.Second, retryMax: time.Minute,
		transport: &http.Transport{Proxy: http.ProxyFromEnvironment, ForceAttemptHTTP2: true, ResponseHeaderTimeout: 10 * time.Minute,
			IdleConnTimeout: 90 * time.Second, MaxIdleConnsPerHost: 64},
	}
	g.credential = func() (string, string, error) {
		c, err := credential.Resolve(getenv)
		if err != nil {
			return "", "", err
		}
		switch c.Method {
		case "api-key":
			return "ANTHROPIC_API_KEY", c.Env["ANTHROPIC_API_KEY"], nil
		case "auth-token":
			return "ANTHROPIC_AUTH_TOKEN", c.Env["ANTHROPIC_AUTH_TOKEN"], nil
		case "":
			return "", "", errors.New("the fleet has no credential (give one: docker magents auth setup, then up)")
		}
		return "", "", fmt.Errorf("the fleet's credential is a %s, which the gateway does not relay", c.Method)
	}
	if _, _, err := g.credential(); err != nil {
		return nil, budgets, fmt.Errorf("model gateway: %w", err)
	}
	g.book = modelusage.NewBook(budgets)
	if path := getenv(agentenv.GatewayState); path != "" {
		data, err := os.ReadFile(path)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, budgets, fmt.Errorf("model gateway: %w", err)
		}
		journal, err := os.ReadFile(path + journalSuffix)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, budgets, fmt.Errorf("model gateway: %w", err)
		}
		if g.book, err = modelusage.Load(data, journal, budgets); err != nil {
			logs.Printf("model gateway: %s is unreadable (%v): counting from zero", path, err)
		}
		// What the journal added is in a snapshot before anything new is booked.
		j, err := os.OpenFile(path+journalSuffix, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return nil, budgets, fmt.Errorf("model gateway: its journal: %w", err)
		}
		g.book.SetJournal(j)
		if err := g.book.Checkpoint(budgets, func(b []byte) error { return atomicfile.WriteSynced(path, b, 0o600) }); err != nil {
			return nil, budgets, fmt.Errorf("model gateway: saving its account: %w", err)
		}
	}
	return g, budgets, nil
}

// journalSuffix names the account's journal beside it: every reservation and settlement
// since the account was last saved, each synced before the request goes on.
const journalSuffix = ".journal"

// Keep saves the account to path a second after each change, and once more when ctx ends.
func (g *Model) Keep(ctx context.Context, path string, startedAs modelusage.Budgets) {
	save := func() {
		err := g.book.Checkpoint(startedAs, func(b []byte) error { return atomicfile.WriteSynced(path, b, 0o600) })
		if err != nil {
			logs.Printf("model gateway: saving its account: %v", err)
		}
	}
	for {
		select {
		case <-ctx.Done():
			save()
			return
		case <-g.book.Changed():
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			save()
		}
	}
}
