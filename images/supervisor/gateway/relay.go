package gateway

import (
	"context"
	"fmt"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/docker-magents/docker-magents/images/supervisor/agenttoken"
	"github.com/docker-magents/docker-magents/images/supervisor/atomicfile"
	"github.com/docker-magents/docker-magents/images/supervisor/gitrelay"
	"github.com/docker-magents/docker-magents/images/supervisor/httprelay"
	"github.com/docker-magents/docker-magents/images/supervisor/logs"
	"github.com/docker-magents/docker-magents/images/supervisor/shellquote"
)

// The git relay is the gateway's third half: the fleet's git credential stays here, and
// the agents' git reaches the fleet's remotes through it (url.insteadOf, set by the
// renderers), each request known by the agent's token. For every remote the gateway keeps
// a bare mirror on its state volume — its config and hooks the gateway's alone — fetched
// from the remote with the fleet's credential before each advertisement, and serves it
// with git's own http-backend: a fetch or clone gets the remote's branches; a push is
// received into git's quarantine with every object checked (receive.fsckObjects), then
// the mirror's pre-receive hook (this binary, git-pre-receive) applies the push rules
// (gitrelay.Check) and pushes the update on to the remote, never forced, with the fleet's
// credential. Only what the remote took lands in the mirror; only what the rules allow
// reaches the remote.
// Relay is the git relay.
type Relay struct {
	root        string
	remotes     map[string]bool // by gitrelay.Key
	credentials string
	exe         string // this binary: the credential helper and the hook
	key         []byte
	// Task names the queue task an agent works on, whose branch it may push too.
	Task func(agent string) string
	// One git operation per remote at a time (a fetch into the mirror and a push out of
	// it); slots bounds them all, each a git process in the gateway's container.
	mu    sync.Mutex
	locks map[string]*sync.Mutex
	slots chan struct{}
}

// The relay's bounds: a push's pack, a request without a byte for relayIdle, git's own
// run (a mirror's fetch, a push) and the git processes at once. git runs with its
// oom_score_adj at 1000 and small caches (gitRelayConfig): in the 128 MiB container
// (agentenv.ProxyMemory) a push too big for it loses its git process, never the gateway.
const (
	maxPushBytes   = 512 << 20
	relayIdle      = 60 * time.Second
	relayGitTime   = 10 * time.Minute
	relayGitAtOnce = 2
)

// gitRelayConfig is each mirror's config: every object checked, no delete, no rewrite
// (the hook checks them before the push goes on; git again after), git's caches small.
var gitRelayConfig = [][2]string{
	{"receive.fsckObjects", "true"}, {"transfer.fsckObjects", "true"}, {"fetch.fsckObjects", "true"},
	{"receive.denyDeletes", "true"}, {"receive.denyNonFastForwards", "true"},
	{"http.receivepack", "true"}, {"http.uploadpack", "true"},
	{"core.deltaBaseCacheLimit", "8m"}, {"core.bigFileThreshold", "8m"}, {"pack.windowMemory", "16m"},
	{"pack.threads", "1"}, {"pack.deltaCacheSize", "8m"}, {"gc.auto", "0"},
}

// NewRelay is the relay for the remotes of MAGENTS_GIT_REMOTES with the credentials of
// MAGENTS_GIT_CREDENTIALS, its mirrors in MAGENTS_GIT_RELAY_STATE or under stateDir; nil
// when the fleet relays nothing.
func NewRelay(getenv func(string) string, key []byte, stateDir string) (*Relay, error) {
	creds := getenv(gitrelay.CredentialsEnv)
	list := getenv(gitrelay.RemotesEnv)
	if creds == "" || list == "" {
		return nil, nil
	}
	if key == nil {
		return nil, fmt.Errorf("git relay: the fleet's key is not set (MAGENTS_AGENT_KEY_FILE): agents would have no way to be known")
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("git relay: %w", err)
	}
	g := &Relay{root: getenv(gitrelay.StateEnv), remotes: map[string]bool{}, credentials: creds, exe: exe, key: key,
		Task: func(string) string { return "" }, locks: map[string]*sync.Mutex{}, slots: make(chan struct{}, relayGitAtOnce)}
	if g.root == "" {
		g.root = filepath.Join(stateDir, gitrelay.StateDir)
	}
	for _, r := range strings.Split(list, ",") {
		if r = strings.TrimSpace(r); r == "" {
			continue
		}
		k, ok := gitrelay.Key(r)
		if !ok {
			return nil, fmt.Errorf("git relay: %q is not a remote git's smart HTTP serves (https://HOST/PATH)", r)
		}
		g.remotes[k] = true
	}
	if err := os.MkdirAll(filepath.Join(g.root, "hooks"), 0o700); err != nil {
		return nil, fmt.Errorf("git relay: %w", err)
	}
	hook := "#!/bin/sh\nexec " + shellquote.Quote(exe) + " git-pre-receive\n"
	if err := atomicfile.Write(filepath.Join(g.root, "hooks", "pre-receive"), []byte(hook), 0o700); err != nil {
		return nil, fmt.Errorf("git relay: %w", err)
	}
	return g, nil
}

// Serve answers an agent's git request: path is PathPrefix + key + git's suffix.
func (g *Relay) Serve(w http.ResponseWriter, r *http.Request, agent string) {
	if !agenttoken.Valid(g.key, agent, agenttoken.PresentedByGit(r)) {
		// git asks its credential helper, and sends the agent's token, after a challenge.
		w.Header().Set("WWW-Authenticate", `Basic realm="docker-magents git relay"`)
		http.Error(w, "docker-magents git relay: "+agent+"'s token, please (its git's credential helper gives it)", http.StatusUnauthorized)
		return
	}
	rest := strings.TrimPrefix(r.URL.Path, gitrelay.PathPrefix)
	var repo, suffix, service string
	for _, s := range []string{"/info/refs", "/git-upload-pack", "/git-receive-pack"} {
		if p, ok := strings.CutSuffix(rest, s); ok {
			repo, suffix = p, s
		}
	}
	switch {
	case suffix == "/info/refs" && r.Method == http.MethodGet:
		service = r.URL.Query().Get("service")
	case suffix != "" && suffix != "/info/refs" && r.Method == http.MethodPost:
		service = suffix[1:]
	}
	if service != "git-upload-pack" && service != "git-receive-pack" {
		http.Error(w, "docker-magents git relay: only git's smart HTTP (clone, fetch, push)", http.StatusNotFound)
		return
	}
	var key string
	ok := false
	if scheme, hostPath, found := strings.Cut(repo, "/"); found {
		key, ok = gitrelay.Key(scheme + "://" + hostPath)
	}
	if !ok || !g.remotes[key] {
		http.Error(w, fmt.Sprintf("docker-magents git relay: %s is not a remote of this fleet (up --git-credentials relays the repository's own remotes)", gitrelay.Upstream(repo)), http.StatusForbidden)
		return
	}
	select {
	case g.slots <- struct{}{}:
		defer func() { <-g.slots }()
	case <-r.Context().Done():
		return
	}
	lock := g.lock(key)
	lock.Lock()
	defer lock.Unlock()
	dir := filepath.Join(g.root, filepath.FromSlash(key)+".git")
	if suffix == "/info/refs" {
		// The remote's branches as they are now: what a fetch gets, and what a push is
		// checked against.
		if err := g.mirror(r.Context(), dir, gitrelay.Upstream(key)); err != nil {
			logs.Printf("git relay: %s: %v", agent, err)
			http.Error(w, "docker-magents git relay: "+err.Error(), http.StatusBadGateway)
			return
		}
	}
	allowed := []string{gitrelay.AgentBranch(agent)}
	if t := g.Task(agent); t != "" {
		allowed = append(allowed, gitrelay.TaskBranch(t))
	}
	r.URL.Path = gitrelay.PathPrefix + key + ".git" + suffix
	// git sends a big push chunked, which Go's CGI host refuses: http-backend reads a
	// body without a length to its end.
	r.TransferEncoding, r.ContentLength = nil, -1
	r.Body = http.MaxBytesReader(w, httprelay.IdleBody(w, r.Body, relayIdle), maxPushBytes)
	// git, in the mirror's root, with the gateway's environment trimmed to what it needs;
	// its oom_score_adj raised first, so the kernel takes a git that grew too big before
	// the gateway.
	h := &cgi.Handler{
		Path: "/bin/sh",
		Args: []string{"-c", `echo 1000 >/proc/self/oom_score_adj 2>/dev/null; exec git http-backend`},
		Root: strings.TrimSuffix(gitrelay.PathPrefix, "/"),
		Dir:  g.root,
		Env: []string{
			"GIT_PROJECT_ROOT=" + g.root, "GIT_HTTP_EXPORT_ALL=1", "REMOTE_USER=" + agent, "HOME=" + g.root,
			"GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0", "GIT_HTTP_MAX_REQUEST_BUFFER=1M",
			gitrelay.AllowedEnv + "=" + strings.Join(allowed, " "), gitrelay.UpstreamEnv + "=" + gitrelay.Upstream(key),
			gitrelay.CredentialsEnv + "=" + g.credentials, gitrelay.HelperEnv + "=" + g.exe,
		},
		Stderr: logWriter{prefix: "git relay: " + agent + ": "},
	}
	h.ServeHTTP(w, r)
}

type logWriter struct{ prefix string }

func (l logWriter) Write(p []byte) (int, error) {
	for _, line := range strings.Split(strings.TrimRight(string(p), "\n"), "\n") {
		logs.Printf("%s%s", l.prefix, line)
	}
	return len(p), nil
}

// Remotes is how many remotes the relay serves.
func (g *Relay) Remotes() int { return len(g.remotes) }

func (g *Relay) lock(key string) *sync.Mutex {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.locks[key] == nil {
		g.locks[key] = &sync.Mutex{}
	}
	return g.locks[key]
}

// git runs git in dir with the fleet's credential (the supervisor's helper reads
// the credentials file; nothing is stored), bounded in time, its stderr in the error.
func (g *Relay) git(ctx context.Context, dir string, args ...string) error {
	_, err := g.gitOutput(ctx, dir, args...)
	return err
}

func (g *Relay) gitOutput(ctx context.Context, dir string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, relayGitTime)
	defer cancel()
	full := append([]string{"-c", "credential.helper=", "-c", "credential.helper=!" + shellquote.Quote(g.exe) + " git-credential"}, args...)
	cmd := exec.CommandContext(ctx, "git", full...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1", gitrelay.CredentialsEnv+"="+g.credentials)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if i := strings.LastIndex(msg, "\n"); i >= 0 {
			msg = msg[i+1:]
		}
		return "", fmt.Errorf("git %s: %v: %s", args[0], err, msg)
	}
	return string(out), nil
}

// mirror makes dir the remote's mirror, or brings it up to date: the remote's branches and
// tags, pruned, every object checked.
func (g *Relay) mirror(ctx context.Context, dir, upstream string) error {
	if _, err := os.Stat(dir); err != nil {
		// Made whole beside it, then renamed into place: a mirror is never half made. Its
		// HEAD is the remote's, so that a clone checks out the remote's default branch.
		tmp := dir + ".new"
		if err := os.RemoveAll(tmp); err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		if err := os.MkdirAll(tmp, 0o700); err != nil {
			return err
		}
		if err := g.git(ctx, tmp, "init", "--quiet", "--bare"); err != nil {
			return err
		}
		for _, kv := range append(gitRelayConfig, [2]string{"core.hooksPath", filepath.Join(g.root, "hooks")}) {
			if err := g.git(ctx, tmp, "config", kv[0], kv[1]); err != nil {
				return err
			}
		}
		out, err := g.gitOutput(ctx, tmp, "ls-remote", "--symref", upstream, "HEAD")
		if err != nil {
			return fmt.Errorf("reaching %s: %w", upstream, err)
		}
		if head, ok := strings.CutPrefix(out, "ref: "); ok {
			if ref, _, ok := strings.Cut(head, "\t"); ok && strings.HasPrefix(ref, "refs/heads/") {
				if err := g.git(ctx, tmp, "symbolic-ref", "HEAD", ref); err != nil {
					return err
				}
			}
		}
		if err := os.Rename(tmp, dir); err != nil {
			return err
		}
	}
	if err := g.git(ctx, dir, "fetch", "--quiet", "--prune", "--no-tags", upstream, "+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*"); err != nil {
		return fmt.Errorf("fetching %s: %w", upstream, err)
	}
	return nil
}
