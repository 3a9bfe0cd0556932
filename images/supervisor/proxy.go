package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/docker-magents/docker-magents/images/supervisor/agentconn"
	"github.com/docker-magents/docker-magents/images/supervisor/agentenv"
	"github.com/docker-magents/docker-magents/images/supervisor/agentstate"
	"github.com/docker-magents/docker-magents/images/supervisor/agenttoken"
	"github.com/docker-magents/docker-magents/images/supervisor/atomicfile"
	"github.com/docker-magents/docker-magents/images/supervisor/envvar"
	"github.com/docker-magents/docker-magents/images/supervisor/gitrelay"
	"github.com/docker-magents/docker-magents/images/supervisor/httprelay"
	"github.com/docker-magents/docker-magents/images/supervisor/logs"
	"github.com/docker-magents/docker-magents/images/supervisor/modelusage"
	"github.com/docker-magents/docker-magents/images/supervisor/protocol"
	"github.com/docker-magents/docker-magents/images/supervisor/workqueue"
)

// The egress proxy (`magents-supervisor proxy`) is the only way out for a fleet's agents,
// which have no network at all (network mode none): each agent's supervisor forwards its
// loopback proxy port (HTTPS_PROXY/HTTP_PROXY) to a unix socket the proxy listens on for
// that agent alone, in the agent's own directory of MAGENTS_EGRESS_SOCKETS. So agents
// reach neither each other nor the host, and the proxy knows who asks without asking
// DNS. It lets through only the hosts of its allowlist, names resolved per request (IP
// changes and IPv6 need no firewall rules). Every denied request is logged with the
// agent, the host and the time, and counted.

// allowlist holds host names ("api.anthropic.com") and wildcard domains ("*.github.com":
// any subdomain of github.com, not github.com itself).
type allowlist []string

func parseAllowlist(s string) allowlist {
	var out allowlist
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == '\n' || r == ' ' }) {
		if f = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(f), ".")); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// allows reports whether host may be reached on port. An entry without a port allows the
// web's ports, 80 and 443; "host:port" allows that port only. An IP address is allowed
// only when it is listed itself: a name cannot be used to smuggle one.
func (a allowlist) allows(host, port string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	for _, p := range a {
		name, only, hasPort := strings.Cut(p, ":")
		if hasPort && port != only || !hasPort && port != "80" && port != "443" {
			continue
		}
		if suffix, ok := strings.CutPrefix(name, "*."); ok {
			if strings.HasSuffix(host, "."+suffix) {
				return true
			}
			continue
		}
		if host == name {
			return true
		}
	}
	return false
}

type egressProxy struct {
	once      sync.Once
	forwarder *http.Transport
	allow     allowlist
	log       io.Writer
	mu        sync.Mutex
	counts    map[string]int    // denials per agent
	recent    []protocol.Denial // the last 200
	dial      func(ctx context.Context, network, addr string) (net.Conn, error)
	// tunnelIdle ends a CONNECT tunnel that carried nothing either way for that long.
	tunnelIdle time.Duration
	// logged counts the denial lines written per agent in the current minute; past
	// maxDenialLogs the rest are counted (in counts and recent) but not logged, and the
	// next line says how many were left out.
	logged     map[string]*denialLog
	logWindow  time.Time
	maxLogLine int
	// statuses: each agent's last status report (statuspush.go), by the agent its socket
	// belongs to.
	statuses map[string]agentStatusReport
	// gateway, when the fleet has one, answers the agents' Messages API requests (and
	// modelHosts, host:port, are refused to them quietly: the fleet means it, nothing to
	// report); dispatcher runs its work queue.
	modelHosts map[string]bool
	gateway    *modelGateway
	dispatcher *dispatcher
	relay      *gitRelay
}

type denialLog struct{ written, suppressed int }

// The proxy's bounds: what one agent, or all together, can take of it.
const (
	maxDenialLogs    = 20               // denial lines per agent per minute
	proxyIdleTimeout = 2 * time.Minute  // a keep-alive connection with no request
	proxyHeaderTime  = 10 * time.Second // to send a request's headers
)

// tunnelIdle is the default: longer than any pause of a streamed model response (the
// Messages API sends ping events) or a slow download.
const tunnelIdle = 10 * time.Minute

func newEgressProxy(allow allowlist, log io.Writer) *egressProxy {
	d := &net.Dialer{Timeout: 15 * time.Second}
	return &egressProxy{allow: allow, log: log, counts: map[string]int{}, statuses: map[string]agentStatusReport{}, dial: d.DialContext,
		tunnelIdle: tunnelIdle, logged: map[string]*denialLog{}, maxLogLine: maxDenialLogs}
}

func clientIP(r *http.Request) string {
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return ip
}

// agentOf names the client: the agent whose socket it came through, else (the proxy's own
// loopback port) its address.
func (p *egressProxy) agentOf(r *http.Request) string {
	if a, ok := agentconn.Agent(r.Context()); ok {
		return a
	}
	return clientIP(r)
}

func (p *egressProxy) deny(w http.ResponseWriter, r *http.Request, host string) {
	d := protocol.Denial{Time: time.Now().UTC(), Agent: p.agentOf(r), Client: clientIP(r), Host: host, Method: r.Method}
	p.mu.Lock()
	p.counts[d.Agent]++
	p.recent = append(p.recent, d)
	if len(p.recent) > 200 {
		p.recent = p.recent[len(p.recent)-200:]
	}
	if d.Time.Sub(p.logWindow) >= time.Minute {
		p.logWindow = d.Time
		for agent, l := range p.logged {
			if l.written = 0; l.suppressed == 0 {
				delete(p.logged, agent)
			}
		}
	}
	l := p.logged[d.Agent]
	if l == nil {
		l = &denialLog{}
		p.logged[d.Agent] = l
	}
	write, suppressed := l.written < p.maxLogLine, 0
	if write {
		l.written++
	} else {
		l.suppressed++
	}
	if write && l.suppressed > 0 {
		suppressed, l.suppressed = l.suppressed, 0
	}
	p.mu.Unlock()
	if write {
		b, _ := json.Marshal(struct {
			Event string `json:"event"`
			protocol.Denial
			Suppressed int `json:"suppressedBefore,omitempty"`
		}{"egress-denied", d, suppressed})
		fmt.Fprintf(p.log, "%s\n", b)
	}
	http.Error(w, fmt.Sprintf("docker-magents egress proxy: %s is not on this fleet's allowlist (add it with docker magents up --allow %s)", host, host), http.StatusForbidden)
}

func (p *egressProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodConnect:
		p.connect(w, r)
	case r.URL.IsAbs():
		p.forward(w, r)
	case r.URL.Path == "/magents/denied":
		p.report(w, r)
	case r.URL.Path == "/magents/status":
		p.status(w, r)
	case r.URL.Path == "/healthz":
		fmt.Fprintln(w, "ok")
	case p.dispatcher != nil && strings.HasPrefix(r.URL.Path, "/magents/queue"):
		if agent, ok := agentconn.Agent(r.Context()); ok {
			p.dispatcher.fromAgent(w, r, agent)
		} else {
			p.dispatcher.fromOperator(w, r)
		}
	case p.relay != nil && strings.HasPrefix(r.URL.Path, gitrelay.PathPrefix):
		agent, ok := agentconn.Agent(r.Context())
		if !ok {
			http.Error(w, "docker-magents git relay: only the fleet's agents use it, each through its own socket (the host pushes with docker magents push)", http.StatusForbidden)
			return
		}
		p.relay.serve(w, r, agent)
	case p.gateway != nil && strings.HasPrefix(r.URL.Path, "/v1/"):
		agent, ok := agentconn.Agent(r.Context())
		if !ok {
			apiError(w, http.StatusForbidden, "permission_error", "docker-magents model gateway: only the fleet's agents use the gateway, each through its own socket")
			return
		}
		if p.gateway.denied {
			// The fleet took the model's endpoint off its allowlist (up
			// --allow-model-endpoint=false): refused and counted as any other host.
			p.deny(w, r, p.gateway.upstreamHostPort())
			return
		}
		p.gateway.serve(w, r, agent)
	case p.gateway != nil && (r.URL.Path == "/magents/usage" || r.URL.Path == "/magents/budget" || r.URL.Path == "/metrics"):
		// The account and the limits are the proxy's own port's (docker magents usage and
		// budget, through exec): an agent neither reads the others' nor raises its own.
		if _, agent := agentconn.Agent(r.Context()); agent {
			http.Error(w, "docker-magents egress proxy: not for agents", http.StatusForbidden)
			return
		}
		switch r.URL.Path {
		case "/magents/usage":
			p.gateway.usage(w)
		case "/magents/budget":
			p.gateway.setBudgets(w, r)
		default:
			w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
			p.gateway.writeMetrics(w)
		}
	default:
		http.Error(w, "docker-magents egress proxy: give it absolute URLs (HTTP_PROXY) or CONNECT (HTTPS_PROXY)", http.StatusBadRequest)
	}
}

func (p *egressProxy) connect(w http.ResponseWriter, r *http.Request) {
	host, port, err := net.SplitHostPort(r.Host)
	if err != nil {
		http.Error(w, "CONNECT needs host:port", http.StatusBadRequest)
		return
	}
	if p.modelHosts[strings.ToLower(net.JoinHostPort(host, port))] {
		http.Error(w, "docker-magents egress proxy: the fleet reaches the model through its gateway only (ANTHROPIC_BASE_URL)", http.StatusForbidden)
		return
	}
	if !p.allow.allows(host, port) {
		p.deny(w, r, net.JoinHostPort(host, port))
		return
	}
	upstream, err := p.dial(r.Context(), "tcp", net.JoinHostPort(host, port))
	if err != nil {
		http.Error(w, fmt.Sprintf("reaching %s: %v", r.Host, err), http.StatusBadGateway)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		upstream.Close()
		http.Error(w, "cannot tunnel", http.StatusInternalServerError)
		return
	}
	client, buf, err := hj.Hijack()
	if err != nil {
		upstream.Close()
		return
	}
	_, _ = client.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
	t := &tunnel{idle: p.tunnelIdle}
	t.touch()
	go func() {
		if n := buf.Reader.Buffered(); n > 0 {
			b, _ := buf.Reader.Peek(n)
			_, _ = upstream.Write(b)
		}
		if t.pipe(upstream, client) != nil {
			upstream.Close() // idle or broken: end the other way too
		}
		httprelay.CloseWrite(upstream)
	}()
	_ = t.pipe(client, upstream)
	client.Close()
	upstream.Close()
}

// tunnel copies both ways of a CONNECT tunnel and ends it once neither way carried
// anything for idle: a tunnel left open by a stuck or gone client does not hold its
// connections (and the proxy's file descriptors) for ever.
type tunnel struct {
	idle time.Duration
	last atomic.Int64 // UnixNano of the last byte either way
}

func (t *tunnel) touch() { t.last.Store(time.Now().UnixNano()) }

// pipe copies src to dst until src ends (nil) or fails or the tunnel idles (an error).
func (t *tunnel) pipe(dst, src net.Conn) error {
	buf := make([]byte, 32<<10)
	for {
		_ = src.SetReadDeadline(time.Now().Add(t.idle))
		n, err := src.Read(buf)
		if n > 0 {
			t.touch()
			_ = dst.SetWriteDeadline(time.Now().Add(t.idle))
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return werr
			}
		}
		switch {
		case err == nil:
		case errors.Is(err, io.EOF):
			return nil
		case errors.Is(err, os.ErrDeadlineExceeded) && time.Since(time.Unix(0, t.last.Load())) < t.idle:
			// Quiet this way only: the other way carries data.
		default:
			return err
		}
	}
}

// transport is the one transport of plain-HTTP forwarding, so idle connections are reused
// and closed rather than piling up.
func (p *egressProxy) transport() *http.Transport {
	p.once.Do(func() {
		p.forwarder = &http.Transport{DialContext: p.dial, Proxy: nil, ResponseHeaderTimeout: 5 * time.Minute,
			IdleConnTimeout: 90 * time.Second, MaxIdleConnsPerHost: 4}
	})
	return p.forwarder
}

func (p *egressProxy) forward(w http.ResponseWriter, r *http.Request) {
	port := r.URL.Port()
	if port == "" {
		port = "80"
		if r.URL.Scheme == "https" {
			port = "443"
		}
	}
	if p.modelHosts[strings.ToLower(net.JoinHostPort(r.URL.Hostname(), port))] {
		http.Error(w, "docker-magents egress proxy: the fleet reaches the model through its gateway only (ANTHROPIC_BASE_URL)", http.StatusForbidden)
		return
	}
	if !p.allow.allows(r.URL.Hostname(), port) {
		p.deny(w, r, net.JoinHostPort(r.URL.Hostname(), port))
		return
	}
	out := r.Clone(r.Context())
	out.RequestURI = ""
	for _, h := range httprelay.HopHeaders {
		out.Header.Del(h)
	}
	resp, err := p.transport().RoundTrip(out)
	if err != nil {
		http.Error(w, fmt.Sprintf("reaching %s: %v", r.URL.Host, err), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	httprelay.WriteResponseHead(w, resp)
	httprelay.FlushCopy(w, resp.Body)
}

// egressReport is what /magents/denied answers: denials per agent and the latest ones.
type egressReport struct {
	Allow  []string          `json:"allow"`
	Counts map[string]int    `json:"counts"`
	Recent []protocol.Denial `json:"recent"`
	// Agents: every agent's last status report, for the proxy's own port only; Now is the
	// proxy's clock when it answered, for the reports' age.
	Agents map[string]agentStatusReport `json:"agents,omitempty"`
	Now    time.Time                    `json:"now,omitzero"`
	// Usage: the model gateway's account, for the proxy's own port only.
	Usage *modelusage.Report `json:"usage,omitempty"`
	// Queue: the work queue's tasks, for the proxy's own port when asked (?queue=1) and the
	// proxy runs the dispatcher; absent otherwise (an empty queue is []).
	Queue *[]workqueue.Task `json:"queue,omitempty"`
}

// report answers an agent with its own denials, and the proxy's own port (docker magents
// egress log, through exec) with everyone's.
func (p *egressProxy) report(w http.ResponseWriter, r *http.Request) {
	agent, own := agentconn.Agent(r.Context())
	p.mu.Lock()
	rep := egressReport{Allow: slices.Clone(p.allow), Counts: map[string]int{}}
	for k, v := range p.counts {
		if !own || k == agent {
			rep.Counts[k] = v
		}
	}
	for _, d := range p.recent {
		if !own || d.Agent == agent {
			rep.Recent = append(rep.Recent, d)
		}
	}
	if !own {
		rep.Agents, rep.Now = maps.Clone(p.statuses), time.Now().UTC()
	}
	p.mu.Unlock()
	if !own && p.gateway != nil {
		u := p.gateway.book.Report(rep.Now)
		rep.Usage = &u
	}
	if !own && p.dispatcher != nil && r.URL.Query().Get("queue") == "1" {
		q := p.dispatcher.q.List()
		rep.Queue = &q
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(rep)
}

// runProxy is `magents-supervisor proxy`: serve the agents' sockets under
// MAGENTS_EGRESS_SOCKETS, and MAGENTS_PROXY_ADDR (default :3128; the fleet gives a
// loopback address, for the proxy's own health and report), with the allowlist of
// MAGENTS_EGRESS_ALLOW until stopped.
func runProxy(ctx context.Context) int {
	// Go's soft memory limit, under the container's (see maxBufferedBodies), unless the
	// environment gives one.
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(proxyMemoryLimit)
	}
	addr := envvar.Get(agentenv.ProxyAddr, ":3128")
	allow := parseAllowlist(os.Getenv(agentenv.EgressAllow))
	key, err := readAgentKey(os.Getenv)
	if err != nil {
		logs.Printf("egress proxy: %v", err)
		return 1
	}
	var saving sync.WaitGroup
	var gateway *modelGateway
	if envvar.IsTrue(os.Getenv(agentenv.ModelGateway)) {
		g, budgets, err := newModelGateway(os.Getenv, key)
		if err != nil {
			logs.Printf("%v", err)
			return 1
		}
		gateway = g
		g.denied = os.Getenv(agentenv.EgressModelEndpoint) == "deny"
		if path := os.Getenv(agentenv.GatewayState); path != "" {
			saving.Go(func() { g.keep(ctx, path, budgets) })
		}
		logs.Printf("model gateway to %s", g.upstream.Redacted())
	}
	// The model endpoint the fleet's env file names is one the agents need (its host and
	// port only), unless the fleet says otherwise — or the gateway reaches it for them.
	if base := os.Getenv("ANTHROPIC_BASE_URL"); base != "" && gateway == nil && os.Getenv(agentenv.EgressModelEndpoint) != "deny" {
		if u, err := url.Parse(base); err == nil && u.Hostname() != "" {
			port := u.Port()
			if port == "" {
				port = map[string]string{"http": "80"}[u.Scheme]
				if port == "" {
					port = "443"
				}
			}
			allow = append(allow, strings.ToLower(net.JoinHostPort(u.Hostname(), port)))
		}
	}
	p := newEgressProxy(allow, os.Stdout)
	p.gateway = gateway
	if gateway != nil {
		p.modelHosts = map[string]bool{"api.anthropic.com:443": true, strings.ToLower(gateway.upstreamHostPort()): true}
	}
	if path := os.Getenv(agentenv.QueueState); path != "" {
		d, err := newDispatcher(path, key)
		if err != nil {
			logs.Printf("%v", err)
			return 1
		}
		// Beside the queue, hidden: in a compose fleet that directory also holds the
		// agents' socket directories, which the proxy serves by name.
		d.gitCredentials, d.pushDir = os.Getenv(gitrelay.CredentialsEnv), filepath.Join(filepath.Dir(path), ".push")
		if gateway != nil {
			d.blocked = func(agent string) bool { return gateway.book.Over(agent) }
			gateway.task = d.current
			gateway.overBudget = func(agent, why string) { d.q.OverBudget(agent, why, time.Now()) }
		}
		p.dispatcher = d
		saving.Go(func() { d.run(ctx, path) })
	}
	if state := os.Getenv(agentenv.QueueState); state != "" {
		relay, err := newGitRelay(os.Getenv, key, filepath.Dir(state))
		if err != nil {
			logs.Printf("%v", err)
			return 1
		}
		if relay != nil {
			if p.dispatcher != nil {
				relay.task = p.dispatcher.current
			}
			p.relay = relay
			logs.Printf("git relay for %d remote(s)", len(relay.remotes))
		}
	}
	srv := &http.Server{Addr: addr, Handler: p, ReadHeaderTimeout: proxyHeaderTime, IdleTimeout: proxyIdleTimeout, ConnContext: agentconn.ConnContext}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	logs.Printf("egress proxy on %s; allowed: %s", addr, strings.Join(allow, ", "))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		logs.Printf("egress proxy: %v", err)
		return 1
	}
	caps := agentconn.NewCaps(agentconn.MaxConnsPerClient, agentconn.MaxConns)
	if dir := os.Getenv(agentenv.EgressSockets); dir != "" {
		go serveAgentSockets(ctx, srv, dir, caps, key)
	}
	if addr := os.Getenv(agentenv.MetricsAddr); addr != "" && gateway != nil {
		// The gateway's /metrics alone, for a cluster's Prometheus: counts, no account.
		metrics := &http.Server{Addr: addr, ReadHeaderTimeout: proxyHeaderTime, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/metrics" || r.Method != http.MethodGet {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
			gateway.writeMetrics(w)
		})}
		go func() {
			if err := metrics.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				logs.Printf("gateway metrics on %s: %v", addr, err)
			}
		}()
		defer metrics.Close()
	}
	if addr := os.Getenv(agentenv.AgentAddr); addr != "" {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			logs.Printf("gateway for the agents: %v", err)
			return 1
		}
		if err := serveAgentsByToken(ctx, p, ln, key, strings.Split(os.Getenv(agentenv.AgentNames), ","), caps); err != nil {
			ln.Close()
			logs.Printf("gateway for the agents: %v", err)
			return 1
		}
	}
	if err := srv.Serve(caps.Limit(ln)); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logs.Printf("egress proxy: %v", err)
		return 1
	}
	// Stopped: the account and the queue are saved as they stand before the proxy exits.
	saving.Wait()
	return 0
}

// serveAgentSockets listens on dir/AGENT/proxy.sock for every agent directory there, and
// for those that appear later (a fleet scaled up), until ctx ends.
func serveAgentSockets(ctx context.Context, srv *http.Server, dir string, caps *agentconn.Caps, key []byte) {
	serving := map[string]bool{}
	for {
		entries, err := os.ReadDir(dir)
		if err != nil {
			logs.Printf("egress proxy: reading the agents' socket directories: %v", err)
		}
		for _, e := range entries {
			// An agent's directory; a hidden one is the proxy's own (the dispatcher's .push).
			if !e.IsDir() || serving[e.Name()] || strings.HasPrefix(e.Name(), ".") {
				continue
			}
			if key != nil {
				if err := writeAgentToken(key, filepath.Join(dir, e.Name()), e.Name()); err != nil {
					logs.Printf("egress proxy: %s's token: %v", e.Name(), err)
					continue
				}
			}
			ln, err := agentconn.Listen(filepath.Join(dir, e.Name(), agentstate.EgressSocketName), e.Name())
			if err != nil {
				logs.Printf("egress proxy: %v", err)
				continue
			}
			serving[e.Name()] = true
			logs.Printf("egress proxy: serving %s", e.Name())
			go func() {
				if err := srv.Serve(caps.Limit(ln)); err != nil && !errors.Is(err, http.ErrServerClosed) {
					logs.Printf("egress proxy: %s: %v", e.Name(), err)
				}
			}()
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
	}
}

// serveAgentsByToken serves agents that reach the gateway over a network (a cluster's
// fleet, where no socket can be shared) on ln until ctx ends: each request is its agent's by the token it
// presents, one of names' under the fleet's key, and is then served as one from that
// agent's socket is. Anything else is refused, and so is egress: over a network the
// gateway relays the model and runs the work queue, it is no proxy.
func serveAgentsByToken(ctx context.Context, p *egressProxy, ln net.Listener, key []byte, names []string, caps *agentconn.Caps) error {
	if key == nil {
		return fmt.Errorf("%s is set but the fleet's key is not (MAGENTS_AGENT_KEY_FILE): agents would have no way to be known", agentenv.AgentAddr)
	}
	names = slices.DeleteFunc(names, func(n string) bool { return n == "" })
	srv := &http.Server{Handler: byToken{p: p, key: key, names: names}, ReadHeaderTimeout: proxyHeaderTime, IdleTimeout: proxyIdleTimeout}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	go func() {
		if err := srv.Serve(caps.Limit(ln)); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logs.Printf("gateway for the agents on %s: %v", ln.Addr(), err)
		}
	}()
	logs.Printf("gateway for %d agent(s) on %s, each known by its token", len(names), ln.Addr())
	return nil
}

// byToken is the handler of serveAgentsByToken.
type byToken struct {
	p     *egressProxy
	key   []byte
	names []string
}

func (b byToken) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodConnect || r.URL.IsAbs() {
		http.Error(w, "docker-magents gateway: this port relays the model and the work queue; it is not an egress proxy", http.StatusForbidden)
		return
	}
	agent := agenttoken.Owner(b.key, b.names, agenttoken.PresentedByGit(r))
	if agent == "" && strings.HasPrefix(r.URL.Path, gitrelay.PathPrefix) {
		// git sends its credential helper's answer only when challenged.
		w.Header().Set("WWW-Authenticate", `Basic realm="docker-magents git relay"`)
		http.Error(w, "docker-magents git relay: an agent's token, please", http.StatusUnauthorized)
		return
	}
	if agent == "" {
		apiError(w, http.StatusUnauthorized, "authentication_error", "docker-magents gateway: that is not the token of an agent of this fleet (redeploy the fleet to give agents theirs)")
		return
	}
	b.p.ServeHTTP(w, r.WithContext(agentconn.WithAgent(r.Context(), agent)))
}

// proxyDenied is `magents-supervisor proxy-denied [--queue]`: print the running proxy's
// report, with the work queue's tasks when asked (one exec for the dashboard's read).
func proxyDenied(args []string, w io.Writer) int {
	path := "/magents/denied"
	for _, a := range args {
		if a != "--queue" {
			logs.Printf("proxy-denied: unknown argument %q (give --queue, or nothing)", a)
			return 2
		}
		path += "?queue=1"
	}
	return askProxy(http.MethodGet, path, nil, w)
}

// askProxy asks the running proxy on its own port (run in its container) and prints the
// answer; it fails when the proxy does not answer 200.
func askProxy(method, path string, body io.Reader, w io.Writer) int {
	addr := envvar.Get(agentenv.ProxyAddr, ":3128")
	if strings.HasPrefix(addr, ":") {
		addr = "127.0.0.1" + addr
	}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil}}
	req, err := http.NewRequest(method, "http://"+addr+path, body)
	if err != nil {
		logs.Printf("%v", err)
		return 1
	}
	resp, err := client.Do(req)
	if err != nil {
		logs.Printf("asking the egress proxy: %v", err)
		return 1
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		if _, ok := protocol.DecodeError(b); ok {
			// The refusal itself, for the host to decode.
			_, _ = w.Write(b)
			return protocol.ExitRefused
		}
		logs.Printf("the egress proxy answered %s: %s", resp.Status, strings.TrimSpace(string(b)))
		return 1
	}
	_, _ = io.Copy(w, resp.Body)
	return 0
}

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
	var rep egressReport
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
func cachedEgressDenials(cfg config, getenv func(string) string, now time.Time) []protocol.Denial {
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
