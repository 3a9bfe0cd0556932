// Package proxy is the proxy container's supervisor (`magents-supervisor proxy`): the
// egress proxy, with the model gateway, the work queue's dispatcher and the git relay
// when the fleet has them, served on every agent's socket, on the proxy's own port and,
// for a cluster's agents, on a port where each is known by its token.
package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/docker-magents/docker-magents/images/supervisor/agentconn"
	"github.com/docker-magents/docker-magents/images/supervisor/agentenv"
	"github.com/docker-magents/docker-magents/images/supervisor/agentstate"
	"github.com/docker-magents/docker-magents/images/supervisor/agenttoken"
	"github.com/docker-magents/docker-magents/images/supervisor/dispatch"
	"github.com/docker-magents/docker-magents/images/supervisor/egress"
	"github.com/docker-magents/docker-magents/images/supervisor/envvar"
	"github.com/docker-magents/docker-magents/images/supervisor/gateway"
	"github.com/docker-magents/docker-magents/images/supervisor/gitrelay"
	"github.com/docker-magents/docker-magents/images/supervisor/logs"
)

// The proxy's bounds on a connection.
const (
	proxyIdleTimeout = 2 * time.Minute  // a keep-alive connection with no request
	proxyHeaderTime  = 10 * time.Second // to send a request's headers
)

// Run is `magents-supervisor proxy`: serve the agents' sockets under
// MAGENTS_EGRESS_SOCKETS, and MAGENTS_PROXY_ADDR (default :3128; the fleet gives a
// loopback address, for the proxy's own health and report), with the allowlist of
// MAGENTS_EGRESS_ALLOW until stopped.
func Run(ctx context.Context) int {
	// Go's soft memory limit, under the container's (see gateway.MemoryLimit), unless the
	// environment gives one.
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(gateway.MemoryLimit)
	}
	addr := envvar.Get(agentenv.ProxyAddr, ":3128")
	allow := egress.ParseAllowlist(os.Getenv(agentenv.EgressAllow))
	key, err := readAgentKey(os.Getenv)
	if err != nil {
		logs.Printf("egress proxy: %v", err)
		return 1
	}
	var saving sync.WaitGroup
	h := &handler{}
	if envvar.IsTrue(os.Getenv(agentenv.ModelGateway)) {
		g, budgets, err := gateway.NewModel(os.Getenv, key)
		if err != nil {
			logs.Printf("%v", err)
			return 1
		}
		h.model = g
		g.Denied = os.Getenv(agentenv.EgressModelEndpoint) == "deny"
		if path := os.Getenv(agentenv.GatewayState); path != "" {
			saving.Go(func() { g.Keep(ctx, path, budgets) })
		}
		logs.Printf("model gateway to %s", g.Upstream())
	}
	// The model endpoint the fleet's env file names is one the agents need (its host and
	// port only), unless the fleet says otherwise — or the gateway reaches it for them.
	if base := os.Getenv("ANTHROPIC_BASE_URL"); base != "" && h.model == nil && os.Getenv(agentenv.EgressModelEndpoint) != "deny" {
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
	h.egress = egress.New(allow, os.Stdout)
	if h.model != nil {
		h.egress.ModelHosts = map[string]bool{"api.anthropic.com:443": true, strings.ToLower(h.model.UpstreamHostPort()): true}
		h.egress.Usage = h.model.Report
	}
	if path := os.Getenv(agentenv.QueueState); path != "" {
		d, err := dispatch.New(path, key)
		if err != nil {
			logs.Printf("%v", err)
			return 1
		}
		// Beside the queue, hidden: in a compose fleet that directory also holds the
		// agents' socket directories, which the proxy serves by name.
		d.GitCredentials, d.PushDir = os.Getenv(gitrelay.CredentialsEnv), filepath.Join(filepath.Dir(path), ".push")
		if h.model != nil {
			d.Blocked = h.model.Over
			h.model.Task = d.Current
			h.model.OverBudget = d.OverBudget
		}
		h.dispatcher, h.egress.Queue = d, d.Tasks
		saving.Go(func() { d.Run(ctx, path) })
	}
	if state := os.Getenv(agentenv.QueueState); state != "" {
		relay, err := gateway.NewRelay(os.Getenv, key, filepath.Dir(state))
		if err != nil {
			logs.Printf("%v", err)
			return 1
		}
		if relay != nil {
			if h.dispatcher != nil {
				relay.Task = h.dispatcher.Current
			}
			h.relay = relay
			logs.Printf("git relay for %d remote(s)", relay.Remotes())
		}
	}
	srv := &http.Server{Addr: addr, Handler: h, ReadHeaderTimeout: proxyHeaderTime, IdleTimeout: proxyIdleTimeout, ConnContext: agentconn.ConnContext}
	var stopping sync.WaitGroup // the servers' stops: each ends once its requests under way have
	stopping.Go(func() { stopOnDone(ctx, srv) })
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
	if addr := os.Getenv(agentenv.MetricsAddr); addr != "" && h.model != nil {
		// The gateway's /metrics alone, for a cluster's Prometheus: counts, no account.
		metrics := &http.Server{Addr: addr, ReadHeaderTimeout: proxyHeaderTime, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/metrics" || r.Method != http.MethodGet {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
			h.model.WriteMetrics(w)
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
		if err := serveAgentsByToken(ctx, h, ln, key, strings.Split(os.Getenv(agentenv.AgentNames), ","), caps, &stopping); err != nil {
			ln.Close()
			logs.Printf("gateway for the agents: %v", err)
			return 1
		}
	}
	if err := srv.Serve(caps.Limit(ln)); err != nil && !errors.Is(err, http.ErrServerClosed) {
		logs.Printf("egress proxy: %v", err)
		return 1
	}
	// Serve returns as the stop begins: the requests under way end first (within the
	// grace), each settled at what it cost rather than replayed at its reservation; then the
	// account and the queue are saved as they stand, and the proxy exits.
	stopping.Wait()
	saving.Wait()
	return 0
}

// stopGrace is how long a stopping gateway lets requests under way end; docker stop
// waits 10 s before it kills.
const stopGrace = 5 * time.Second

// stopOnDone stops srv once ctx ends, letting the requests under way end within
// stopGrace, and returns when they have.
func stopOnDone(ctx context.Context, srv *http.Server) {
	<-ctx.Done()
	shutdown, cancel := context.WithTimeout(context.Background(), stopGrace)
	defer cancel()
	_ = srv.Shutdown(shutdown)
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
func serveAgentsByToken(ctx context.Context, h http.Handler, ln net.Listener, key []byte, names []string, caps *agentconn.Caps, stopping *sync.WaitGroup) error {
	if key == nil {
		return fmt.Errorf("%s is set but the fleet's key is not (MAGENTS_AGENT_KEY_FILE): agents would have no way to be known", agentenv.AgentAddr)
	}
	names = slices.DeleteFunc(names, func(n string) bool { return n == "" })
	srv := &http.Server{Handler: byToken{h: h, key: key, names: names}, ReadHeaderTimeout: proxyHeaderTime, IdleTimeout: proxyIdleTimeout}
	stopping.Go(func() { stopOnDone(ctx, srv) })
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
	h     http.Handler
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
		gateway.APIError(w, http.StatusUnauthorized, "authentication_error", "docker-magents gateway: that is not the token of an agent of this fleet (redeploy the fleet to give agents theirs)")
		return
	}
	b.h.ServeHTTP(w, r.WithContext(agentconn.WithAgent(r.Context(), agent)))
}
