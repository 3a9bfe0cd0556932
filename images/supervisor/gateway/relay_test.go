//go:build unix

package gateway

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker-magents/docker-magents/images/supervisor/agenttoken"
	"github.com/docker-magents/docker-magents/images/supervisor/gitcredential"
	"github.com/docker-magents/docker-magents/images/supervisor/gitrelay"
)

// TestMain lets the test binary be what the relay runs of this one: its mirrors'
// pre-receive hook and git's credential helper.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "git-pre-receive":
			os.Exit(PreReceive(os.Stdin, os.Stderr))
		case "git-credential":
			os.Exit(gitcredential.Run(os.Args[2:], os.Stdin, os.Stdout))
		}
	}
	os.Exit(m.Run())
}

func runGit(t *testing.T, env []string, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), append([]string{"GIT_TERMINAL_PROMPT=0", "GIT_CONFIG_NOSYSTEM=1", "HOME=" + dir,
		"GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com"}, env...)...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func mustGit(t *testing.T, env []string, dir string, args ...string) string {
	t.Helper()
	out, err := runGit(t, env, dir, args...)
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(out)
}

// The relay with real git on both sides: a remote served by git http-backend to one
// credential, an agent's clone whose git knows only its own token.
func TestGitRelay(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	backend := "/usr/lib/git-core/git-http-backend"
	if _, err := os.Stat(backend); err != nil {
		t.Skip("git http-backend is missing (Debian's git package has it)")
	}
	tmp := t.TempDir()
	remotes := filepath.Join(tmp, "remotes")
	bare := filepath.Join(remotes, "team.git")
	mustGit(t, nil, tmp, "init", "-q", "--bare", "-b", "main", bare)
	mustGit(t, nil, tmp, "-C", bare, "config", "http.receivepack", "true")
	const secret = "canary-s3cret"
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte("bot:"+secret))
	cgiRemote := &cgi.Handler{Path: backend, Env: []string{"GIT_PROJECT_ROOT=" + remotes, "GIT_HTTP_EXPORT_ALL=1"}}
	remote := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != want {
			w.Header().Set("WWW-Authenticate", `Basic realm="t"`)
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		r.Header.Set("Remote-User", "bot")
		r.TransferEncoding, r.ContentLength = nil, -1 // git's chunked pushes: http-backend reads to the end
		cgiRemote.ServeHTTP(w, r)
	}))
	defer remote.Close()
	remoteURL := remote.URL + "/team.git"
	// The remote's main, from a clone of the team's.
	seed := filepath.Join(tmp, "seed")
	mustGit(t, nil, tmp, "init", "-q", "-b", "main", seed)
	mustGit(t, nil, seed, "commit", "-q", "--allow-empty", "-m", "base")
	mustGit(t, nil, seed, "push", "-q", bare, "main")

	creds := filepath.Join(tmp, "git-credentials")
	if err := os.WriteFile(creds, []byte(strings.Replace(remote.URL, "http://", "http://bot:"+secret+"@", 1)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	key := []byte("the fleet's key")
	env := map[string]string{gitrelay.CredentialsEnv: creds, gitrelay.RemotesEnv: remoteURL}
	relay, err := NewRelay(func(k string) string { return env[k] }, key, filepath.Join(tmp, "state"))
	if err != nil || relay == nil {
		t.Fatalf("NewRelay: %v %v", relay, err)
	}
	relay.Task = func(agent string) string {
		if agent == "agent-1" {
			return "task-7"
		}
		return ""
	}
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		relay.Serve(w, r, "agent-1")
	}))
	defer gw.Close()

	// The agent: its git rewrites the remote to the relay, and its helper answers the
	// relay with its token; the credentials file is nowhere in its environment.
	tokenFile := filepath.Join(tmp, "agent-token")
	if err := os.WriteFile(tokenFile, []byte(agenttoken.Of(key, "agent-1")), 0o600); err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	k, _ := gitrelay.Key(remoteURL)
	agentEnv := []string{
		gitrelay.URLEnv + "=" + gw.URL, "MAGENTS_AGENT_TOKEN_FILE=" + tokenFile, gitrelay.CredentialsEnv + "=",
		"GIT_CONFIG_COUNT=2",
		"GIT_CONFIG_KEY_0=url." + gitrelay.URL(gw.URL, k) + ".insteadOf", "GIT_CONFIG_VALUE_0=" + strings.TrimSuffix(remoteURL, ".git"),
		"GIT_CONFIG_KEY_1=credential." + gw.URL + ".helper", "GIT_CONFIG_VALUE_1=!" + exe + " git-credential",
	}
	work := filepath.Join(tmp, "work")
	mustGit(t, agentEnv, tmp, "clone", "-q", remoteURL, work)
	remoteRef := func(ref string) string {
		out, _ := runGit(t, nil, tmp, "--git-dir", bare, "rev-parse", "--verify", "--quiet", ref)
		return strings.TrimSpace(out)
	}
	push := func(args ...string) (string, error) {
		return runGit(t, agentEnv, work, append([]string{"push", "origin"}, args...)...)
	}
	if out := mustGit(t, nil, work, "log", "--format=%s"); out != "base" {
		t.Fatalf("the clone through the relay has %q, want the remote's main", out)
	}
	mustGit(t, agentEnv, work, "commit", "-q", "--allow-empty", "-m", "the agent's work")
	first := mustGit(t, nil, work, "rev-parse", "HEAD")
	if out, err := push("HEAD:refs/heads/magents/agent-1"); err != nil {
		t.Fatalf("the agent's own branch: %v\n%s", err, out)
	}
	if got := remoteRef("refs/heads/magents/agent-1"); got != first {
		t.Fatalf("the remote's magents/agent-1 is %q, want %s", got, first)
	}
	// A push bigger than git's post buffer goes chunked.
	big := make([]byte, 3<<20)
	if _, err := rand.Read(big); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "big.bin"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	mustGit(t, nil, work, "add", "big.bin")
	mustGit(t, agentEnv, work, "commit", "-q", "-m", "a big file")
	first = mustGit(t, nil, work, "rev-parse", "HEAD")
	if out, err := push("HEAD:refs/heads/magents/agent-1"); err != nil {
		t.Fatalf("a chunked push: %v\n%s", err, out)
	}
	if got := remoteRef("refs/heads/magents/agent-1"); got != first {
		t.Fatalf("after a chunked push the remote's magents/agent-1 is %q, want %s", got, first)
	}
	if out, err := push("HEAD:refs/heads/magents/task-7"); err != nil {
		t.Fatalf("its task's branch: %v\n%s", err, out)
	}
	mainBefore := remoteRef("refs/heads/main")
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"main", []string{"HEAD:refs/heads/main"}, "not agent-1's to push"},
		{"another agent's branch", []string{"HEAD:refs/heads/magents/agent-2"}, "not agent-1's to push"},
		{"a tag", []string{"HEAD:refs/tags/v1"}, "not agent-1's to push"},
		{"a delete", []string{":refs/heads/magents/agent-1"}, "never deletes"},
	} {
		out, err := push(c.args...)
		if err == nil || !strings.Contains(out, c.want) {
			t.Errorf("%s: %v, want %q in\n%s", c.name, err, c.want, out)
		}
	}
	mustGit(t, agentEnv, work, "commit", "-q", "--amend", "--allow-empty", "-m", "rewritten")
	if out, err := push("--force", "HEAD:refs/heads/magents/agent-1"); err == nil || !strings.Contains(out, "not a fast-forward") {
		t.Errorf("a forced push: %v\n%s", err, out)
	}
	if got := remoteRef("refs/heads/magents/agent-1"); got != first {
		t.Errorf("after the refused pushes the remote's magents/agent-1 is %s, want %s", got, first)
	}
	if got := remoteRef("refs/heads/main"); got != mainBefore || remoteRef("refs/heads/magents/agent-2") != "" || remoteRef("refs/tags/v1") != "" {
		t.Errorf("a refused push changed the remote")
	}
	// A wrong token is challenged and refused; a remote the fleet does not name is refused.
	if err := os.WriteFile(tokenFile, []byte(agenttoken.Of(key, "agent-2")), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := runGit(t, agentEnv, work, "fetch", "origin"); err == nil {
		t.Errorf("agent-2's token fetched as agent-1:\n%s", out)
	}
	res, err := http.Get(gw.URL + gitrelay.PathPrefix + "http/example.com/other/info/refs?service=git-upload-pack")
	if err == nil {
		res.Body.Close()
	}
	if err != nil || res.StatusCode != http.StatusUnauthorized {
		t.Errorf("no token: %v %v", res, err)
	}
	req, _ := http.NewRequest(http.MethodGet, gw.URL+gitrelay.PathPrefix+"http/example.com/other/info/refs?service=git-upload-pack", nil)
	req.SetBasicAuth("agent", agenttoken.Of(key, "agent-1"))
	res, err = http.DefaultClient.Do(req)
	if err == nil {
		res.Body.Close()
	}
	if err != nil || res.StatusCode != http.StatusForbidden {
		t.Errorf("a remote the fleet does not name: %v %v", res, err)
	}
}
