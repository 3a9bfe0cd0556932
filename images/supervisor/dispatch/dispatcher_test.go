package dispatch

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/docker-magents/docker-magents/images/supervisor/workqueue"
)

func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=T", "-c", "user.email=t@example.invalid"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v %s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// A done task's branch, handed over as a bundle by its own agent only, is pushed by the
// dispatcher to the task's remote, never forced.
func TestDispatcherPushesADoneTasksBranch(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	tmp := t.TempDir()
	work, remote := filepath.Join(tmp, "work"), filepath.Join(tmp, "remote.git")
	os.MkdirAll(work, 0o755)
	gitIn(t, tmp, "init", "-q", "--bare", remote)
	gitIn(t, work, "init", "-q")
	gitIn(t, work, "commit", "-q", "--allow-empty", "-m", "base")
	gitIn(t, work, "checkout", "-q", "-b", "magents/task-1")
	gitIn(t, work, "commit", "-q", "--allow-empty", "-m", "the task's work")
	want := gitIn(t, work, "rev-parse", "HEAD")
	bundle := filepath.Join(tmp, "b.bundle")
	gitIn(t, work, "bundle", "create", "-q", bundle, "refs/heads/magents/task-1")
	creds := filepath.Join(tmp, "git-credentials")
	os.WriteFile(creds, []byte("https://bot:token@example.invalid\n"), 0o600)

	d, err := New(filepath.Join(tmp, "queue.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	d.GitCredentials, d.PushDir = creds, filepath.Join(tmp, "push")
	now := time.Now()
	d.q.Add(now, workqueue.NewTask{Prompt: "work", Push: true, PushURL: remote}, workqueue.NewTask{Prompt: "other"})
	task, _ := d.q.Next("agent-1", now, false)
	other, _ := d.q.Next("agent-2", now, false)

	hand := func(agent, id string) int {
		b, _ := os.Open(bundle)
		defer b.Close()
		r := httptest.NewRequest(http.MethodPost, "/magents/queue/bundle?id="+id, b)
		w := httptest.NewRecorder()
		d.takeBundle(w, r, agent)
		return w.Code
	}
	if code := hand("agent-2", task.ID); code != http.StatusConflict {
		t.Fatalf("another agent handed over the task's bundle: %d", code)
	}
	if code := hand("agent-2", other.ID); code != http.StatusConflict {
		t.Fatalf("a bundle of a task not to push was taken: %d", code)
	}
	if code := hand("agent-1", task.ID); code != http.StatusNoContent {
		t.Fatalf("the task's own agent: %d", code)
	}
	d.q.Report("agent-1", workqueue.Report{ID: task.ID, State: workqueue.Done, Branch: "magents/task-1"}, now)
	done, _ := d.q.Get(task.ID)
	d.pushTask(done)
	if got, _ := d.q.Get(task.ID); !strings.HasPrefix(got.Pushed, "pushed to") {
		t.Fatalf("pushed: %q", got.Pushed)
	}
	if got := gitIn(t, tmp, "--git-dir", remote, "rev-parse", "refs/heads/magents/task-1"); got != want {
		t.Fatalf("the remote has %s, want %s", got, want)
	}
	// Never forced: the same task's branch rewritten is refused by the remote.
	gitIn(t, work, "commit", "-q", "--amend", "--allow-empty", "-m", "rewritten")
	gitIn(t, work, "bundle", "create", "-q", bundle, "refs/heads/magents/task-1")
	os.MkdirAll(d.PushDir, 0o700)
	b, _ := os.ReadFile(bundle)
	os.WriteFile(filepath.Join(d.PushDir, task.ID+".bundle"), b, 0o600)
	d.pushTask(done)
	if got, _ := d.q.Get(task.ID); !strings.HasPrefix(got.Pushed, "not pushed") {
		t.Fatalf("a rewritten branch: %q", got.Pushed)
	}
	if got := gitIn(t, tmp, "--git-dir", remote, "rev-parse", "refs/heads/magents/task-1"); got != want {
		t.Fatalf("a forced push: the remote has %s", got)
	}
}

// What an agent hands over as a bundle is one, or it is refused before git sees it; an
// upload that stops sending gives its place up instead of holding it.
func TestDispatcherTakesBundlesOnly(t *testing.T) {
	tmp := t.TempDir()
	d, err := New(filepath.Join(tmp, "queue.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	d.PushDir = filepath.Join(tmp, "push")
	now := time.Now()
	d.q.Add(now, workqueue.NewTask{Prompt: "work", Push: true, PushURL: "https://example.invalid/r.git"})
	task, _ := d.q.Next("agent-1", now, false)
	for _, body := range []string{"gitdir: /magents/origin\n", "", "# v9 git bundle\n"} {
		r := httptest.NewRequest(http.MethodPost, "/magents/queue/bundle?id="+task.ID, strings.NewReader(body))
		w := httptest.NewRecorder()
		d.takeBundle(w, r, "agent-1")
		if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "not a git bundle") {
			t.Errorf("%q: %d %s", body, w.Code, w.Body.String())
		}
	}
	if entries, _ := os.ReadDir(d.PushDir); len(entries) != 0 {
		t.Errorf("a refused upload left %v", entries)
	}

	uploadIdle = 300 * time.Millisecond
	t.Cleanup(func() { uploadIdle = 30 * time.Second })
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { d.takeBundle(w, r, "agent-1") }))
	defer srv.Close()
	stalled, send := io.Pipe()
	defer send.Close()
	go send.Write([]byte(bundleV2 + "the start of it"))
	done := make(chan int, 1)
	go func() {
		resp, err := http.Post(srv.URL+"/?id="+task.ID, "application/octet-stream", stalled)
		if err != nil {
			done <- 0
			return
		}
		resp.Body.Close()
		done <- resp.StatusCode
	}()
	select {
	case code := <-done:
		if code == http.StatusNoContent {
			t.Errorf("a stalled upload was taken")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a stalled upload still holds its place after 10 s")
	}
	if entries, _ := os.ReadDir(d.PushDir); len(entries) != 0 {
		t.Errorf("a stalled upload left %v", entries)
	}
}

// Two agents uploading slowly hold a place each: a third agent's hand-over goes through
// at once, and an agent cannot open a second upload to hold more.
func TestDispatcherSlowUploadsLeaveOthersTheirPlace(t *testing.T) {
	tmp := t.TempDir()
	d, err := New(filepath.Join(tmp, "queue.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	d.PushDir = filepath.Join(tmp, "push")
	now := time.Now()
	ids := map[string]string{}
	for _, agent := range []string{"agent-1", "agent-2", "agent-3"} {
		d.q.Add(now, workqueue.NewTask{Prompt: "work", Push: true, PushURL: "https://example.invalid/r.git"})
		task, ok := d.q.Next(agent, now, false)
		if !ok {
			t.Fatalf("no task for %s", agent)
		}
		ids[agent] = task.ID
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.takeBundle(w, r, r.Header.Get("X-Test-Agent"))
	}))
	defer srv.Close()
	upload := func(agent string, body io.Reader) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/?id="+ids[agent], body)
		req.Header.Set("X-Test-Agent", agent)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	stop := make(chan struct{})
	defer close(stop)
	for _, agent := range []string{"agent-1", "agent-2"} {
		r, w := io.Pipe()
		go func() {
			defer w.Close()
			w.Write([]byte(bundleV2))
			for {
				select {
				case <-stop:
					return
				case <-time.After(50 * time.Millisecond):
					if _, err := w.Write([]byte("x")); err != nil {
						return
					}
				}
			}
		}()
		go upload(agent, r)
	}
	waitUntil := time.Now().Add(5 * time.Second)
	for {
		_, one := d.uploading.Load("agent-1")
		_, two := d.uploading.Load("agent-2")
		if one && two {
			break
		}
		if time.Now().After(waitUntil) {
			t.Fatal("the slow uploads never started")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code, body := upload("agent-1", strings.NewReader(bundleV2+"more")); code != http.StatusConflict || !strings.Contains(body, "one at a time") {
		t.Errorf("a second upload of agent-1's: %d %s", code, body)
	}
	done := make(chan int, 1)
	go func() {
		code, _ := upload("agent-3", strings.NewReader(bundleV2+"a whole bundle"))
		done <- code
	}()
	select {
	case code := <-done:
		if code != http.StatusNoContent {
			t.Errorf("agent-3's hand-over: %d", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("two slow uploads blocked agent-3's hand-over")
	}
}
