package dispatch

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/docker-magents/docker-magents/images/supervisor/gitcmd"
	"github.com/docker-magents/docker-magents/images/supervisor/httprelay"
	"github.com/docker-magents/docker-magents/images/supervisor/logs"
	"github.com/docker-magents/docker-magents/images/supervisor/workqueue"
)

// maxBundle bounds a task branch's bundle an agent hands over to be pushed; uploadIdle is
// how long an upload may send nothing before it is dropped.
const (
	maxBundle = 512 << 20
	bundleV2  = "# v2 git bundle\n"
	bundleV3  = "# v3 git bundle\n"
)

var uploadIdle = 30 * time.Second // a variable for the tests

// takeBundle keeps the bundle of the agent's task branch (?id=), to push once the task is
// done: only for the agent's own task, and one that asked to be pushed.
func (d *Dispatcher) takeBundle(w http.ResponseWriter, r *http.Request, agent string) {
	id := r.URL.Query().Get("id")
	t, ok := d.q.Current(agent)
	if !ok || t.ID != id || !t.Push {
		http.Error(w, fmt.Sprintf("%s has no task %s to push", agent, id), http.StatusConflict)
		return
	}
	// One at a time per agent, a few at a time in all (each holds a file open): the
	// others wait. An upload that sends nothing for uploadIdle gives its place up; a slow
	// one holds its own place alone, so agents uploading slowly leave the others theirs.
	if _, busy := d.uploading.LoadOrStore(agent, struct{}{}); busy {
		http.Error(w, agent+" is uploading a bundle already: one at a time", http.StatusConflict)
		return
	}
	defer d.uploading.Delete(agent)
	select {
	case d.uploads <- struct{}{}:
		defer func() { <-d.uploads }()
	case <-r.Context().Done():
		return
	}
	body := bufio.NewReader(httprelay.IdleBody(w, r.Body, uploadIdle))
	// A git bundle, or nothing: what is not one never reaches git (which would read a
	// path in it as a repository to fetch from).
	if header, err := body.Peek(len(bundleV2)); err != nil || string(header) != bundleV2 && string(header) != bundleV3 {
		http.Error(w, "not a git bundle (it starts with neither \"# v2 git bundle\" nor \"# v3 git bundle\")", http.StatusBadRequest)
		return
	}
	if err := os.MkdirAll(d.PushDir, 0o700); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	f, err := os.CreateTemp(d.PushDir, id+".*.bundle")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	_, err = io.Copy(f, http.MaxBytesReader(w, io.NopCloser(body), maxBundle))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), filepath.Join(d.PushDir, id+".bundle"))
	}
	if err != nil {
		os.Remove(f.Name())
		http.Error(w, "the bundle: "+err.Error(), http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// pushTask pushes a done task's branch, from the bundle its agent handed over, to the
// task's remote with the fleet's git credentials: fetched, every object checked, into the
// dispatcher's own bare repository (its config and hooks are the dispatcher's, never an
// agent's), then pushed, never forced. How it went is the task's Pushed.
func (d *Dispatcher) pushTask(t workqueue.Task) {
	how, err := d.push(t)
	if err != nil {
		how = "not pushed: " + err.Error()
		logs.Printf("work queue: %s %s", t.ID, how)
	}
	d.q.SetPushed(t.ID, how)
}

func (d *Dispatcher) push(t workqueue.Task) (string, error) {
	d.pushing.Lock()
	defer d.pushing.Unlock()
	bundle := filepath.Join(d.PushDir, t.ID+".bundle")
	defer os.Remove(bundle)
	if _, err := os.Stat(bundle); err != nil {
		return "", errors.New("its agent handed over no bundle of the branch")
	}
	if d.GitCredentials == "" {
		return "", errors.New("the fleet has no git credentials (docker magents up --git-credentials FILE)")
	}
	// The task's own branch, whatever the agent reported, in a repository made for this
	// push alone (no other task's objects to build on).
	dir, err := os.MkdirTemp(d.PushDir, "push-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	repo := filepath.Join(dir, "repo.git")
	if err := gitcmd.Run("", "init", "--quiet", "--bare", repo); err != nil {
		return "", err
	}
	ref := "refs/heads/magents/" + t.ID
	if err := gitcmd.Run(repo, "-c", "transfer.fsckObjects=true", "fetch", "--quiet", "--no-tags", bundle, ref+":"+ref); err != nil {
		return "", err
	}
	// Every object checked, strictly (a fetch from a bundle does not on every git).
	if err := gitcmd.Run(repo, "fsck", "--strict", "--no-dangling", "--no-progress"); err != nil {
		return "", fmt.Errorf("the branch's objects do not pass git fsck: %w", err)
	}
	// A copy of the credentials for git's store helper, which writes back what worked.
	creds, err := os.ReadFile(d.GitCredentials)
	if err != nil {
		return "", fmt.Errorf("reading the fleet's git credentials: %w", err)
	}
	store := filepath.Join(dir, "git-credentials")
	if err := os.WriteFile(store, creds, 0o600); err != nil {
		return "", err
	}
	if err := gitcmd.Run(repo, "-c", "credential.helper=", "-c", "credential.helper=store --file="+store,
		"push", "--quiet", "--no-verify", t.PushURL, ref+":"+ref); err != nil {
		return "", err
	}
	return "pushed to " + redactURL(t.PushURL), nil
}

// redactURL is u without a password.
func redactURL(u string) string {
	if p, err := url.Parse(u); err == nil {
		return p.Redacted()
	}
	return u
}
