package agent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/docker-magents/docker-magents/images/supervisor/agentenv"
	"github.com/docker-magents/docker-magents/images/supervisor/agentstate"
	"github.com/docker-magents/docker-magents/images/supervisor/credential"
	"github.com/docker-magents/docker-magents/images/supervisor/logs"
)

// pollInterval is the least time between two looks at the session, and how often it is
// looked at where the kernel cannot say when to (see waiter): a restart starts at most
// this late. Each look is a wake-up of every agent's supervisor: with 64 idle agents, a
// look a second in each was most of what the fleet cost beyond Claude itself.
const pollInterval = time.Second

// Supervise keeps the agent's session running, and reports on it, until ctx ends: what
// `magents-supervisor` does, the image's entrypoint.
func Supervise(ctx context.Context, cfg Config) error { return newSupervisor(cfg).run(ctx) }

type supervisor struct {
	cfg    Config
	tmux   tmux
	status *statusFile
	self   string // this binary, which tmux runs as "agent"
}

func newSupervisor(cfg Config) *supervisor {
	self, err := os.Executable()
	if err != nil {
		self = "magents-supervisor"
	}
	return &supervisor{cfg: cfg, tmux: tmux{session: cfg.Session}, status: newStatusFile(cfg), self: self}
}

func (s *supervisor) run(ctx context.Context) error {
	if err := os.MkdirAll(s.cfg.RunDir, 0o1777); err != nil {
		return fmt.Errorf("creating %s: %w (it must be writable by uid %d)", s.cfg.RunDir, err, os.Getuid())
	}
	if err := listenForKicks(ctx, s.cfg); err != nil {
		return fmt.Errorf("naming the supervisor in %s: %w", s.cfg.RunDir, err)
	}
	if os.Getuid() == 0 {
		logs.Printf("warning: running as root; the image's own user is the non-root magents (uid 1000)")
	}
	creds, err := credential.Resolve(os.Getenv)
	if err != nil {
		// The agent wrapper reports the same error in the session; the supervisor keeps going.
		logs.Printf("%v", err)
	}
	s.status.update(func(st *status) {
		st.StartedAt = time.Now().UTC()
		st.Auth = creds.Method
		if st.Auth == "" && (fileExists(s.cfg.ClaudeConfigDir+"/.credentials.json") || fileExists(s.cfg.AuthDir+"/.credentials.json")) {
			st.Auth = "login"
		}
	})
	if s.cfg.HealthAddr != "" {
		srv, err := s.serveHealth(s.cfg.HealthAddr)
		if err != nil {
			return err
		}
		defer srv.Close()
	}

	var pusher *statusPusher
	if os.Getenv(agentenv.EgressSocket) != "" {
		// The agent has no network: its proxy port leads to the fleet's egress proxy.
		ln, err := forwardEgress(ctx, os.Getenv)
		if err != nil {
			logs.Printf("%v", err)
			s.status.update(func(st *status) { st.SetupError = err.Error() })
		} else {
			defer ln.Close()
			pusher = newStatusPusher(s.cfg, os.Getenv(agentenv.EgressSocket))
		}
	}
	var relay *activityRelay
	if isTerminal(os.Stdout.Fd()) {
		// On a terminal (docker run -it) stdout shows the session: no lines across it.
		activityOut = io.Discard
	} else {
		relay = &activityRelay{cfg: s.cfg}
	}
	if relay != nil || pusher != nil {
		// Before the clone, which may take a while: this run's first report replaces the
		// last run's at once (ps takes a report newer than the container for current).
		go relayAndPush(ctx, newWaiter(ctx), relay, pusher)
	}
	if err := prepareClone(s.cfg, os.Getenv); err != nil {
		logs.Printf("preparing the agent's clone: %v", err)
		s.status.update(func(st *status) { st.SetupError = "preparing the agent's clone: " + err.Error() })
	}
	sessions := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() { done <- s.keepSession(ctx, sessions) }()

	if s.cfg.Attach && isTerminal(os.Stdin.Fd()) {
		go s.attachLoop(ctx, sessions)
	}
	if !headless(s.cfg) {
		queue := (pusher != nil || os.Getenv(agentenv.DispatcherURL) != "") && os.Getenv(agentenv.AgentTokenFile) != ""
		go func() {
			// The task given at start first; then the queue's, as the agent goes idle.
			s.deliverStartTask(ctx)
			if queue {
				s.workQueue(ctx)
			}
		}()
	}
	err = <-done
	s.stopAgent()
	return err
}

// workQueue takes tasks from the fleet's work queue (queueworker.go) once the proxy has
// given the agent its token.
func (s *supervisor) workQueue(ctx context.Context) {
	w, err := newQueueWorker(s.cfg, os.Getenv)
	if err != nil {
		logs.Printf("work queue: %v", err)
		return
	}
	w.run(ctx)
}

// newQueueWorker is the agent's side of the work queue: its token (waiting while the
// proxy starts) and its socket.
func newQueueWorker(cfg Config, getenv func(string) string) (*queueWorker, error) {
	token, err := credential.ReadGatewayToken(getenv(agentenv.AgentTokenFile), credential.TokenWait)
	if err != nil {
		return nil, err
	}
	if base := getenv(agentenv.DispatcherURL); base != "" {
		// A cluster's fleet: the gateway's service, over the network.
		return &queueWorker{cfg: cfg, getenv: getenv, token: token, base: strings.TrimSuffix(base, "/"), client: &http.Client{Transport: &http.Transport{
			Proxy: nil, MaxIdleConns: 1, IdleConnTimeout: time.Minute,
		}}}, nil
	}
	sock := getenv(agentenv.EgressSocket)
	return &queueWorker{cfg: cfg, getenv: getenv, token: token, base: "http://egress-proxy", client: &http.Client{Transport: &http.Transport{
		Proxy: nil,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
		MaxIdleConns: 1, IdleConnTimeout: time.Minute,
	}}}, nil
}

// relayAndPush prints the hooks' activity and gives the proxy this agent's status (either
// may be nil) whenever the supervisor is kicked, at most once a second, and sends the status at
// least every statusHeartbeat, until ctx ends: an idle agent wakes only for the heartbeat.
func relayAndPush(ctx context.Context, w *waiter, relay *activityRelay, pusher *statusPusher) {
	defer w.close()
	for next := time.Duration(0); w.wait(next); {
		if relay != nil {
			relay.step()
		}
		next = time.Hour
		if pusher != nil {
			next = pusher.step(ctx)
		}
	}
}

// keepSession starts the session and starts it again, with backoff, whenever it ends.
func (s *supervisor) keepSession(ctx context.Context, started chan<- struct{}) error {
	backoff := s.cfg.MinBackoff
	// A look happens when the agent or its tmux server exits, when the supervisor is
	// kicked (a restart request, the hooks' state), or when the screen is due to be read.
	w := newWaiter(ctx)
	defer w.close()
	claude := claudeCommand(s.cfg.AgentCmd)
	hooklessRestarted := false // once per supervisor: see hooklessGrace
	watch := &sessionWatch{t: s.tmux, onPane: func(p paneProcess) {
		w.watchProcesses(p)
		s.status.update(func(st *status) { st.Pane = p })
	}}
	for {
		if headless(s.cfg) {
			if _, done := readResult(s.cfg); done {
				// A headless run happens once: wait here until the container stops.
				<-ctx.Done()
				return nil
			}
		}
		if s.cfg.AuthCheck {
			s.checkCredential(ctx)
		}
		if !watch.alive() {
			clearHookState(s.cfg)
			// Checked here too, so the repair shows in the container's log.
			if _, err := setAsideCorrupt(claudeStatePath(s.cfg)); err != nil {
				logs.Printf("%v", err)
			}
			if err := s.tmux.newSession(s.workdir(), s.self, "agent"); err != nil {
				logs.Printf("starting session %s: %v", s.cfg.Session, err)
			} else {
				logs.Printf("session %s started", s.cfg.Session)
				s.status.update(func(st *status) { st.SessionAt = time.Now().UTC() })
				select {
				case started <- struct{}{}:
				default:
				}
			}
		}
		since := time.Now()
		var asked time.Time // when a pending restart request was first seen
		var lastScan time.Time
		for next := pollInterval; watch.alive(); {
			if !w.wait(next) {
				return nil
			}
			next = pollInterval
			if fileExists(restartMarker(s.cfg)) {
				// A restart asked for while the session was starting (the request's
				// SIGTERM found no agent), or one the agent did not end on: ask it to
				// end, then end the session.
				switch {
				case asked.IsZero():
					asked = time.Now()
					if pid, err := s.tmux.panePID(); err == nil {
						_ = syscallKill(pid, syscall.SIGTERM)
					}
				case time.Since(asked) > restartGrace/2:
					s.tmux.killSession()
				}
				continue
			}
			if !claude {
				next = idleScanInterval // another program's screen tells nothing
				continue
			}
			hs, hooked := readHookState(s.cfg)
			if !hooked && !hooklessRestarted && time.Since(since) > hooklessGrace {
				hooklessRestarted = true
				logs.Printf("no hook of Claude's reported in the %s since the session started (its state would stay \"starting\"): restarting the session once", hooklessGrace)
				activityf("restarting: Claude's hooks never reported")
				s.tmux.killSession()
				continue
			}
			if scanDue(hs, hooked, lastScan, time.Now()) {
				lastScan = time.Now()
				s.scanForAuthFailure()
			}
			next = scanWait(hs, hooked)
		}
		if ctx.Err() != nil {
			return nil
		}
		if s.takeRestartRequest() {
			// Asked for (auth rotate): start again at once, with a clean slate.
			backoff = s.cfg.MinBackoff
			s.status.update(func(st *status) {
				st.Restarts++
				st.LastExit = time.Now().UTC()
				st.AuthRejected, st.AuthError = false, ""
			})
			logs.Printf("session %s ended on request; starting it again", s.cfg.Session)
			activityf("restarting on request")
			continue
		}
		if time.Since(since) > 2*time.Minute {
			backoff = s.cfg.MinBackoff
		}
		s.status.update(func(st *status) {
			st.Restarts++
			st.LastExit = time.Now().UTC()
		})
		logs.Printf("session %s ended after %s; starting it again in %s", s.cfg.Session, time.Since(since).Round(time.Second), backoff)
		activityf("session ended; restarting in %s", backoff)
		if !sleep(ctx, backoff) {
			return nil
		}
		backoff = min(backoff*2, s.cfg.MaxBackoff)
	}
}

// checkCredential asks the model API whether it takes the credential (MAGENTS_AUTH_CHECK).
func (s *supervisor) checkCredential(ctx context.Context) {
	creds, err := credential.Resolve(os.Getenv)
	if err != nil {
		return
	}
	rejected := checkAuth(ctx, creds, os.Getenv("ANTHROPIC_BASE_URL"))
	s.setAuthRejected(rejected, "the model API refused the credential (HTTP 401/403)")
}

// hooklessGrace is how long a Claude session may run before its first hook reports. With
// 32 agents starting at once on 2 CPUs, a Claude Code session now and then came to its
// prompt without ever running a hook (not SessionStart, nor any after), so its agent stayed
// "starting" for good; a new session runs them. It is restarted once per supervisor, so
// that settings whose hooks never run do not restart it forever. Claude reaches its prompt
// in seconds, and under that load within two minutes.
const hooklessGrace = 3 * time.Minute

// How often Claude's screen is read for a refused credential: every busyScanInterval while
// Claude starts or works, every idleScanInterval while it is idle or waits — its screen
// does not change then (an idle Claude asks the API nothing, and a turn that ends in a
// refusal ends with a state change, after which the screen is read at once), and each read
// is a tmux client.
const (
	busyScanInterval = 2 * time.Second
	idleScanInterval = 5 * time.Minute
)

// busy says whether Claude starts or works, by its hooks.
func busy(hs hookState, hooked bool) bool {
	return !hooked || hs.State == agentstate.Working || hs.State == agentstate.Starting
}

// scanDue says whether the screen is to be read now (every busyScanInterval while Claude
// starts or works; once after it went idle or began to wait; then every
// idleScanInterval), given the hooks' state and when it was last read.
func scanDue(hs hookState, hooked bool, last, now time.Time) bool {
	switch {
	case busy(hs, hooked):
		return now.Sub(last) >= busyScanInterval
	case !hs.Since.Before(last):
		return true // changed since the last read
	}
	return now.Sub(last) >= idleScanInterval
}

// scanWait is how long the session may go without a look, for its screen's sake.
func scanWait(hs hookState, hooked bool) time.Duration {
	if busy(hs, hooked) {
		return busyScanInterval
	}
	return idleScanInterval
}

// scanForAuthFailure reads the end of the session's screen for Claude's own report of a
// refused credential.
func (s *supervisor) scanForAuthFailure() {
	out, err := s.tmux.run("capture-pane", "-p", "-J", "-t", s.tmux.paneTarget(), "-S", "-60")
	if err != nil {
		return
	}
	if m := authFailure.FindString(out); m != "" {
		// Claude takes any 403 for a refused credential, the egress proxy's too: when the
		// proxy refused this agent, that is the cause, not the credential.
		if denied := egressDenials(os.Getenv); len(denied) > 0 {
			return
		}
		s.setAuthRejected(true, "Claude reports "+strconv.Quote(m))
	}
}

func (s *supervisor) setAuthRejected(rejected bool, why string) {
	changed := false
	s.status.update(func(st *status) {
		changed = st.AuthRejected != rejected
		if changed && rejected {
			st.AuthRejectedAt = time.Now().UTC()
		}
		st.AuthRejected = rejected
		st.AuthError = ""
		if rejected {
			st.AuthError = why
		}
	})
	if changed && rejected {
		logs.Printf("auth-rejected: %s; give the agents a valid credential with 'docker magents auth rotate'", why)
		activityf("auth refused by the model API")
	}
}

// takeRestartRequest reports (and clears) a restart asked for with `magents-supervisor restart`.
func (s *supervisor) takeRestartRequest() bool {
	return os.Remove(restartMarker(s.cfg)) == nil
}

func restartMarker(cfg Config) string { return filepath.Join(cfg.RunDir, "restart-requested") }

// RequestRestart is `magents-supervisor restart`: Claude is stopped and the supervisor
// starts it again at once, reading the credential afresh; the container stays.
func RequestRestart(cfg Config) int {
	if err := os.WriteFile(restartMarker(cfg), nil, 0o644); err != nil {
		logs.Printf("requesting a restart: %v", err)
		return 1
	}
	kick(cfg)
	t := tmux{session: cfg.Session}
	if pid, err := t.panePID(); err == nil {
		_ = syscallKill(pid, syscall.SIGTERM)
	}
	return 0
}

func (s *supervisor) workdir() string {
	if dir := s.cfg.workdir(); dir != "" {
		if st, err := os.Stat(dir); err == nil && st.IsDir() {
			return dir
		}
	}
	return ""
}

// attachLoop shows the session on this container's terminal (docker run -it). Detaching
// (C-b d) leaves the agent running; when the agent exits it is shown again once restarted.
func (s *supervisor) attachLoop(ctx context.Context, started <-chan struct{}) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-started:
		}
		if err := s.tmux.attach(); err != nil && ctx.Err() == nil {
			logs.Printf("attaching to session %s: %v", s.cfg.Session, err)
		}
		if ctx.Err() != nil {
			return
		}
		if s.tmux.hasSession() {
			fmt.Fprintf(os.Stderr, "\r\nDetached from session %q; the agent keeps running.\r\n"+
				"Attach again: docker exec -it CONTAINER tmux attach -t %s\r\n"+
				"Leave this terminal: Ctrl-P Ctrl-Q; stop the agent: docker stop CONTAINER\r\n", s.cfg.Session, s.cfg.Session)
			return
		}
	}
}

// stopAgent asks the agent to exit (SIGTERM), waits up to StopTimeout, then ends tmux.
func (s *supervisor) stopAgent() {
	if pid, err := s.tmux.panePID(); err == nil {
		_ = syscallKill(pid, syscall.SIGTERM)
		deadline := time.Now().Add(s.cfg.StopTimeout)
		for processAlive(pid) && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
	}
	s.tmux.killServer()
	logs.Printf("stopped")
}

func (s *supervisor) serveHealth(addr string) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("health endpoint on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeHealth(w, currentHealth(s.cfg), healthReport.Healthy)
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		writeHealth(w, currentHealth(s.cfg), healthReport.Ready)
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		writeMetrics(w, healthWith(s.cfg, false), len(cachedEgressDenials(s.cfg, os.Getenv, time.Now())), time.Now())
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logs.Printf("health endpoint: %v", err)
		}
	}()
	logs.Printf("serving /healthz, /readyz and /metrics on %s", ln.Addr())
	return srv, nil
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
