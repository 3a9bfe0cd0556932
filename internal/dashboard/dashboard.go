// Package dashboard is the server of docker magents dashboard: one page, embedded in the
// plugin, that shows a fleet live in a browser. It listens on loopback only, behind a
// random single-use token that the first load trades for a session of its own, in an
// HttpOnly, SameSite=Strict cookie named for the dashboard's port (the token then leaves
// the address bar; cookies are not bound to a port, so another server on 127.0.0.1 the
// browser visits gets a session id that dies with this dashboard, never the token, and
// not another dashboard's under the same name); it checks the Host header of every request (DNS
// rebinding) and the Origin of every request that changes anything; everything else gets
// 403. What agents wrote is data: the page renders it as text, under a Content-Security-
// Policy that allows no inline script. Every open tab reads the one status Hub, never the
// engine itself.
package dashboard

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"net"
	"net/http"
	"strings"
	"sync"
)

//go:embed assets
var assets embed.FS

// CookieName is the cookie that carries a session of the dashboard on port.
func CookieName(port string) string { return "magents_dashboard_" + port }

// ContentSecurityPolicy is every answer's: scripts and connections from the dashboard
// itself only, no inline script, no frame, no plugin.
//
// Styles may be inline: the terminal (xterm.js) sizes and colours itself with style
// elements it makes. What an agent wrote never becomes markup, so it cannot use them.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// NewToken is a fresh random token.
func NewToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// Server serves the dashboard of one fleet.
type Server struct {
	cookie string // CookieName of its port
	// mu guards the token, which one load trades for a session (then it is spent), and
	// the sessions, which end with the process.
	mu       sync.Mutex
	token    string
	sessions map[string]bool
	hosts    map[string]bool // Host headers taken: 127.0.0.1:PORT, localhost:PORT
	origins  map[string]bool // Origins taken for what changes anything
	hub      *Hub
	mux      *http.ServeMux
}

// Queue is what the page may do to the fleet's work queue; each returns the task as it
// stands after, for the page to show.
type Queue interface {
	Add(ctx context.Context, prompt string) (any, error)
	Cancel(ctx context.Context, id string) (any, error)
	Retry(ctx context.Context, id string) (any, error)
}

// Work is an agent's or a task's branch (agent-N, task-N) as the page shows and merges
// it, with the rules and refusals of docker magents diff and merge.
type Work interface {
	Diff(ctx context.Context, who string) (string, error)
	Merge(ctx context.Context, who string) (string, error)
}

// maxDiff bounds a diff the page is sent; the rest is cut, and says so.
const maxDiff = 4 << 20

// Options are what the page may do beyond watching; nil fields leave it out.
type Options struct {
	Queue    Queue
	Work     Work
	Terminal Terminal
}

// New is the dashboard on ln's address (loopback), behind token, showing hub's reports,
// and doing what o allows.
func New(addr net.Addr, token string, hub *Hub, o Options) *Server {
	queue := o.Queue
	_, port, _ := net.SplitHostPort(addr.String())
	s := &Server{cookie: CookieName(port), token: token, sessions: map[string]bool{}, hub: hub,
		hosts: map[string]bool{}, origins: map[string]bool{}, mux: http.NewServeMux()}
	for _, h := range []string{"127.0.0.1", "localhost", "[::1]"} {
		s.hosts[h+":"+port] = true
		s.origins["http://"+h+":"+port] = true
	}
	static, _ := fs.Sub(assets, "assets")
	s.mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	s.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		hub.Warm() // the fleet is read while the page loads its scripts
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		b, _ := fs.ReadFile(static, "index.html")
		_, _ = w.Write(b)
	})
	s.mux.HandleFunc("GET /api/fleet", hub.serveSnapshot)
	s.mux.HandleFunc("GET /api/events", hub.serveEvents)
	if queue != nil {
		s.mux.HandleFunc("POST /api/queue", func(w http.ResponseWriter, r *http.Request) {
			var in struct{ Prompt string }
			if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&in); err != nil || strings.TrimSpace(in.Prompt) == "" {
				http.Error(w, "give the task's text", http.StatusBadRequest)
				return
			}
			s.answer(w, r, func(ctx context.Context) (any, error) { return queue.Add(ctx, in.Prompt) })
		})
		s.mux.HandleFunc("POST /api/queue/{id}/cancel", func(w http.ResponseWriter, r *http.Request) {
			s.answer(w, r, func(ctx context.Context) (any, error) { return queue.Cancel(ctx, r.PathValue("id")) })
		})
		s.mux.HandleFunc("POST /api/queue/{id}/retry", func(w http.ResponseWriter, r *http.Request) {
			s.answer(w, r, func(ctx context.Context) (any, error) { return queue.Retry(ctx, r.PathValue("id")) })
		})
	}
	if o.Terminal != nil {
		s.mux.HandleFunc("GET /api/terminal/{agent}", serveTerminal(o.Terminal))
	}
	if work := o.Work; work != nil {
		s.mux.HandleFunc("GET /api/diff/{who}", func(w http.ResponseWriter, r *http.Request) {
			diff, err := work.Diff(r.Context(), r.PathValue("who"))
			if err != nil {
				http.Error(w, err.Error(), http.StatusConflict)
				return
			}
			if len(diff) > maxDiff {
				diff = diff[:maxDiff] + "\n[the diff goes on: see docker magents diff " + r.PathValue("who") + "]\n"
			}
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = io.WriteString(w, diff)
		})
		s.mux.HandleFunc("POST /api/merge/{who}", func(w http.ResponseWriter, r *http.Request) {
			s.answer(w, r, func(ctx context.Context) (any, error) {
				out, err := work.Merge(ctx, r.PathValue("who"))
				return map[string]string{"Output": out}, err
			})
		})
	}
	return s
}

// answer runs do and writes its result as JSON, or its error as a 409 whose text is the
// error's; then every tab gets the fleet as it now stands.
func (s *Server) answer(w http.ResponseWriter, r *http.Request, do func(context.Context) (any, error)) {
	v, err := do(r.Context())
	if err != nil {
		http.Error(w, err.Error(), http.StatusConflict)
		return
	}
	s.hub.refresh(r.Context())
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// URL is the address to open: the dashboard with its token, which the first load trades
// for the cookie.
func URL(addr net.Addr, token string) string {
	return "http://" + addr.String() + "/?token=" + token
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	// A page of another site that a DNS name of its own points at loopback sends its own
	// name as Host.
	if !s.hosts[r.Host] {
		http.Error(w, "docker magents dashboard: not this dashboard's address", http.StatusForbidden)
		return
	}
	if tok := r.URL.Query().Get("token"); tok != "" && r.URL.Path == "/" && r.Method == http.MethodGet {
		// A browser that has its session already (the printed address opened again) just
		// goes to the page.
		if !s.hasSession(r) {
			id, err := s.trade(tok)
			if err != nil {
				http.Error(w, "docker magents dashboard: "+err.Error(), http.StatusForbidden)
				return
			}
			http.SetCookie(w, &http.Cookie{Name: s.cookie, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
		}
		http.Redirect(w, r, "/", http.StatusSeeOther) // the token leaves the address bar and history
		return
	}
	if !s.hasSession(r) {
		http.Error(w, "docker magents dashboard: open the address docker magents dashboard printed", http.StatusForbidden)
		return
	}
	if changes(r) && !s.origins[r.Header.Get("Origin")] {
		http.Error(w, "docker magents dashboard: refused from another origin", http.StatusForbidden)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// trade spends the token for a new session's id.
func (s *Server) trade(tok string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(s.token)) != 1 {
		return "", errors.New("this address is wrong or was opened already (its token works once): open the dashboard in the browser that opened it, or run docker magents dashboard again for a new address")
	}
	id, err := NewToken()
	if err != nil {
		return "", err
	}
	s.token = ""
	s.sessions[id] = true
	return id, nil
}

// hasSession reports whether r carries a session of this dashboard.
func (s *Server) hasSession(r *http.Request) bool {
	c, err := r.Cookie(s.cookie)
	if err != nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions[c.Value]
}

// changes reports whether r may change something, or opens a websocket: its Origin must
// be the dashboard's own.
func changes(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
	}
	return true
}
