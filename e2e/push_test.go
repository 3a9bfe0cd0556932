//go:build e2e

package e2e

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/icmd"
)

// gitServer serves the bare repositories under root over git's smart HTTP protocol (git
// http-backend, as a CGI program of the test's own server), to user:token only.
func gitServer(t *testing.T, root, user, token string) string {
	t.Helper()
	backend := &cgi.Handler{Path: "/usr/lib/git-core/git-http-backend", Env: []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"}}
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+token))
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != want {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		r.Header.Set("Remote-User", user)
		r.TransferEncoding, r.ContentLength = nil, -1 // git's chunked pushes: http-backend reads to the end
		backend.ServeHTTP(w, r)
	})}
	// On every address, by the engine's gateway address: the host and the fleet's
	// containers reach it alike.
	ln, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close() })
	return "http://" + net.JoinHostPort(sharedHostAddr(t), fmt.Sprint(ln.Addr().(*net.TCPAddr).Port))
}

// sharedHostAddr is an address of this host that its own processes and the fleet's
// containers both reach: the one the suite gives containers for the host when it is an IP
// (a nested engine's), else the engine's default bridge gateway.
func sharedHostAddr(t *testing.T) string {
	t.Helper()
	if a := hostAddr(); net.ParseIP(a) != nil {
		return a
	}
	res := docker("network", "inspect", "-f", "{{(index .IPAM.Config 0).Gateway}}", "bridge")
	res.Assert(t, icmd.Success)
	a := strings.TrimSpace(res.Stdout())
	if net.ParseIP(a) == nil {
		t.Fatalf("the default bridge's gateway: %q", a)
	}
	return a
}

// requireHTTPBackend skips a test that serves a remote without git http-backend.
func requireHTTPBackend(t *testing.T) {
	t.Helper()
	if _, err := os.Stat("/usr/lib/git-core/git-http-backend"); err != nil {
		t.Skip("git http-backend is missing (Debian's git package has it)")
	}
}

// teamRemote is an empty bare repository, team.git, that takes pushes over HTTP, in a
// directory of remotes for gitServer to serve.
func teamRemote(t *testing.T) (remotes, bare string) {
	t.Helper()
	remotes = t.TempDir()
	bare = filepath.Join(remotes, "team.git")
	for _, args := range [][]string{{"init", "-q", "--bare", bare}, {"-C", bare, "config", "http.receivepack", "true"}} {
		if out, err := exec.Command("git", args...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v %s", args, err, out)
		}
	}
	return remotes, bare
}

// push: an agent's branch reaches the team's remote from the host, with the fleet's git
// credentials, never forced; a refused credential says so and changes nothing.
func TestPushWithTheFleetsCredentials(t *testing.T) {
	anyEngine(t, "the git relay")
	parallelSuite(t)
	requireHTTPBackend(t)
	e := newFleetEnvWith(t, fmt.Sprint(time.Now().UnixNano()), nil).inProject("pushe2e")
	git := e.initRepo()
	remotes, bare := teamRemote(t)
	url := gitServer(t, remotes, "fleet-bot", "s3cret-token")
	git("remote", "add", "origin", url+"/team.git")
	creds := filepath.Join(t.TempDir(), "git-credentials")
	host := strings.TrimPrefix(url, "http://")
	if err := os.WriteFile(creds, []byte("http://fleet-bot:s3cret-token@"+host+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.magents("down", "--volumes", "--force") })
	e.magents("up", "--git-credentials", creds).Assert(t, icmd.Success)
	agent := e.container("agent-1")
	commit := func(msg string, amend bool) string {
		args := []string{"exec", agent, "git", "-C", "/workspace", "commit", "-q", "--allow-empty", "-m", msg}
		if amend {
			args = append(args, "--amend")
		}
		docker(args...).Assert(t, icmd.Success)
		return strings.TrimSpace(docker("exec", agent, "git", "-C", "/workspace", "rev-parse", "HEAD").Stdout())
	}
	remoteHead := func() string {
		out, _ := exec.Command("git", "--git-dir", bare, "rev-parse", "--verify", "--quiet", "refs/heads/magents/agent-1").Output()
		return strings.TrimSpace(string(out))
	}

	first := commit("the agent's work", false)
	e.magents("push", "agent-1").Assert(t, icmd.Expected{Out: "Pushed magents/agent-1 to origin."})
	if got := remoteHead(); got != first {
		t.Fatalf("the remote has %q, want %s", got, first)
	}
	// Never forced: a rewritten branch is refused by the remote, which keeps what it had.
	commit("the agent's work, rewritten", true)
	res := e.magents("push", "agent-1")
	res.Assert(t, icmd.Expected{ExitCode: 1, Err: "nothing was pushed"})
	if got := remoteHead(); got != first {
		t.Errorf("a rewritten branch replaced the remote's: %s", got)
	}
	// A refused credential: said, and nothing changes on either side.
	commit("more work", false)
	if err := os.WriteFile(creds, []byte("http://fleet-bot:wrong-token@"+host+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	res = e.magents("push", "agent-1")
	res.Assert(t, icmd.Expected{ExitCode: 1, Err: "refused the fleet's git credentials"})
	if strings.Contains(res.Combined(), "wrong-token") || strings.Contains(res.Combined(), "s3cret-token") {
		t.Errorf("push printed a credential:\n%s", res.Combined())
	}
	if got := remoteHead(); got != first {
		t.Errorf("the remote changed after a refused push: %s", got)
	}
	if b, _ := os.ReadFile(creds); !strings.Contains(string(b), "wrong-token") || strings.Count(string(b), "\n") != 1 {
		t.Errorf("push rewrote the credentials file: %q", b)
	}
	// queue add --push: the dispatcher pushes the task's branch once it is done (the agent
	// hands it over as a bundle; it holds no credential), with the credentials up gave the
	// fleet.
	e.magents("queue", "add", "--push", "Look around.").Assert(t, icmd.Expected{Out: "task-1 queued"})
	var task struct{ State, Branch, Base, Pushed string }
	waitFor(t, 90*time.Second, "the dispatcher to push task-1", func() (bool, string) {
		res := e.magents("queue", "show", "task-1", "--format", "json")
		if err := json.Unmarshal([]byte(res.Stdout()), &task); err == nil && task.Pushed != "" {
			return true, res.Stdout()
		}
		return false, fmt.Sprintf("task-1: %+v\n%s\nthe dispatcher's last logs:\n%s", task, res.Combined(),
			docker("logs", "--tail", "40", e.container("egress-proxy")).Combined())
	})
	if out, _ := exec.Command("git", "--git-dir", bare, "rev-parse", "--verify", "--quiet", "refs/heads/magents/task-1").Output(); task.State != "done" ||
		!strings.HasPrefix(task.Pushed, "pushed to") || strings.TrimSpace(string(out)) == "" || strings.Contains(task.Pushed, "s3cret") {
		t.Errorf("task-1: %+v; the remote's magents/task-1: %q", task, out)
	}
	e.magents("push", "task-99").Assert(t, icmd.Expected{ExitCode: 1, Err: "no task task-99"})
}
