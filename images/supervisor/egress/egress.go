// Package egress is the fleet's egress proxy (`magents-supervisor proxy`), the only way
// out for a fleet's agents, which have no network at all (network mode none): each
// agent's supervisor forwards its loopback proxy port (HTTPS_PROXY/HTTP_PROXY) to a unix
// socket the proxy listens on for that agent alone, in the agent's own directory of
// MAGENTS_EGRESS_SOCKETS. So agents reach neither each other nor the host, and the proxy
// knows who asks without asking DNS (agentconn). It lets through only the hosts of its
// allowlist, names resolved per request (IP changes and IPv6 need no firewall rules).
// Every denied request is logged with the agent, the host and the time, and counted.
package egress

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/docker-magents/docker-magents/images/supervisor/agentconn"
	"github.com/docker-magents/docker-magents/images/supervisor/httprelay"
	"github.com/docker-magents/docker-magents/images/supervisor/modelusage"
	"github.com/docker-magents/docker-magents/images/supervisor/protocol"
	"github.com/docker-magents/docker-magents/images/supervisor/workqueue"
)

// Proxy is the egress proxy: the handler of every agent's socket and of its own port.
type Proxy struct {
	once      sync.Once
	forwarder *http.Transport
	allow     Allowlist
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
	// statuses: each agent's last status report (report.go), by the agent its socket
	// belongs to.
	statuses map[string]statusReport
	// ModelHosts (host:port), when the fleet has a model gateway, are refused to the
	// agents quietly: the fleet means it, nothing to report.
	ModelHosts map[string]bool
	// Usage, when the fleet has a model gateway, is its account; Queue, when the proxy
	// runs the dispatcher, the work queue's tasks: both for the report of the proxy's own
	// port.
	Usage func(now time.Time) modelusage.Report
	Queue func() []workqueue.Task
}

type denialLog struct{ written, suppressed int }

// maxDenialLogs bounds the denial lines per agent per minute.
const maxDenialLogs = 20

// tunnelIdle is the default: longer than any pause of a streamed model response (the
// Messages API sends ping events) or a slow download.
const tunnelIdle = 10 * time.Minute

// New is a proxy that lets through what allow allows and logs its denials to log.
func New(allow Allowlist, log io.Writer) *Proxy {
	d := &net.Dialer{Timeout: 15 * time.Second}
	return &Proxy{allow: allow, log: log, counts: map[string]int{}, statuses: map[string]statusReport{}, dial: d.DialContext,
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
func (p *Proxy) agentOf(r *http.Request) string {
	if a, ok := agentconn.Agent(r.Context()); ok {
		return a
	}
	return clientIP(r)
}

// Deny refuses the request to host, counts it and logs it (a few a minute per agent).
func (p *Proxy) Deny(w http.ResponseWriter, r *http.Request, host string) {
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

// ServeHTTP answers what is the egress proxy's own: CONNECT and absolute URLs
// (HTTPS_PROXY, HTTP_PROXY), its report (/magents/denied), the agents' status reports
// (/magents/status) and /healthz.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.Method == http.MethodConnect:
		p.connect(w, r)
	case r.URL.IsAbs():
		p.forward(w, r)
	case r.URL.Path == "/magents/denied":
		p.writeReport(w, r)
	case r.URL.Path == "/magents/status":
		p.status(w, r)
	case r.URL.Path == "/healthz":
		fmt.Fprintln(w, "ok")
	default:
		http.Error(w, "docker-magents egress proxy: give it absolute URLs (HTTP_PROXY) or CONNECT (HTTPS_PROXY)", http.StatusBadRequest)
	}
}

func (p *Proxy) connect(w http.ResponseWriter, r *http.Request) {
	host, port, err := net.SplitHostPort(r.Host)
	if err != nil {
		http.Error(w, "CONNECT needs host:port", http.StatusBadRequest)
		return
	}
	if p.ModelHosts[strings.ToLower(net.JoinHostPort(host, port))] {
		http.Error(w, "docker-magents egress proxy: the fleet reaches the model through its gateway only (ANTHROPIC_BASE_URL)", http.StatusForbidden)
		return
	}
	if !p.allow.allows(host, port) {
		p.Deny(w, r, net.JoinHostPort(host, port))
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

// transport is the one transport of plain-HTTP forwarding, so idle connections are reused
// and closed rather than piling up.
func (p *Proxy) transport() *http.Transport {
	p.once.Do(func() {
		p.forwarder = &http.Transport{DialContext: p.dial, Proxy: nil, ResponseHeaderTimeout: 5 * time.Minute,
			IdleConnTimeout: 90 * time.Second, MaxIdleConnsPerHost: 4}
	})
	return p.forwarder
}

func (p *Proxy) forward(w http.ResponseWriter, r *http.Request) {
	port := r.URL.Port()
	if port == "" {
		port = "80"
		if r.URL.Scheme == "https" {
			port = "443"
		}
	}
	if p.ModelHosts[strings.ToLower(net.JoinHostPort(r.URL.Hostname(), port))] {
		http.Error(w, "docker-magents egress proxy: the fleet reaches the model through its gateway only (ANTHROPIC_BASE_URL)", http.StatusForbidden)
		return
	}
	if !p.allow.allows(r.URL.Hostname(), port) {
		p.Deny(w, r, net.JoinHostPort(r.URL.Hostname(), port))
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
