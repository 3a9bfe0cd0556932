//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/icmd"
)

// --isolation clone: each agent works in a private clone in its own volume, the host
// repository mounted read-only as its origin; the host tree is never written. What an
// agent commits comes to the host with diff and merge, and down --volumes refuses to
// delete a clone holding work the host does not have.
func TestFleetClones(t *testing.T) {
	anyEngine(t, "clone isolation is docker-magents' own")
	parallelSuite(t)
	e := newFleetEnv(t, "clones")
	git := e.initRepo()
	mg := func(args ...string) *icmd.Result { return e.magents(append([]string{"-p", "clonee2e"}, args...)...) }
	t.Cleanup(func() { mg("down", "--volumes", "--force") })

	mg("up", "--agents", "2", "--isolation", "clone", "--include", ".env").Assert(t, icmd.Success)
	for _, agent := range []string{"agent-1", "agent-2"} {
		c := "clonee2e-" + agent
		docker("exec", c, "git", "-C", "/workspace", "branch", "--show-current").Assert(t, icmd.Expected{Out: "magents/" + agent})
		docker("exec", c, "cat", "/workspace/.env").Assert(t, icmd.Expected{Out: "LOCAL_SETTING=1"})
		// Of the host's tree, the agent sees the git dir and the included files only.
		docker("exec", c, "sh", "-c", "ls -A /magents/origin | grep -c -e '^HEAD$' -e '^objects$' -e '^refs$'").Assert(t, icmd.Expected{Out: "3"})
		docker("exec", c, "sh", "-c", "{ ls -A /magents/origin; ls -A /magents/include; } | grep -Fx -e README -e docker-compose.claude.yml -e .magents").Assert(t, icmd.Expected{ExitCode: 1})
		docker("exec", c, "touch", "/magents/origin/x").Assert(t, icmd.Expected{ExitCode: 1, Err: "Read-only file system"})
		docker("exec", c, "git", "-C", "/workspace", "fetch", "-q", "origin").Assert(t, icmd.Success)
	}
	docker("exec", "clonee2e-agent-1", "sh", "-c", "cd /workspace && echo 'from the clone' > cloned.txt && git add cloned.txt && "+
		"git -c user.name=Agent -c user.email=agent@example.invalid commit -qm 'clone work'").Assert(t, icmd.Success)
	docker("exec", "clonee2e-agent-2", "sh", "-c", "echo draft > /workspace/draft.txt").Assert(t, icmd.Success)
	if st := git("status", "--porcelain"); st != "" {
		t.Errorf("the host tree changed:\n%s", st)
	}

	res := mg("down", "--volumes")
	res.Assert(t, icmd.Expected{ExitCode: 1, Err: "agent-1: commits on magents/agent-1 the host does not have"})
	if !strings.Contains(res.Stderr(), "agent-2: 1 uncommitted change") {
		t.Errorf("down --volumes does not name agent-2's work:\n%s", res.Stderr())
	}
	docker("volume", "inspect", "clonee2e_agent-1-work").Assert(t, icmd.Success)
	docker("exec", "clonee2e-agent-1", "true").Assert(t, icmd.Success) // refused before anything stopped

	diff := mg("diff", "agent-1")
	diff.Assert(t, icmd.Success)
	if !strings.Contains(diff.Stdout(), "+from the clone") {
		t.Fatalf("diff agent-1:\n%s", diff.Combined())
	}
	mg("merge", "agent-1").Assert(t, icmd.Expected{Out: "Merged magents/agent-1"})
	if log := git("log", "-1", "--format=%s"); log != "clone work" {
		t.Errorf("host HEAD after merge: %q", log)
	}

	// Stopped, the clones are still read through their volumes.
	mg("down").Assert(t, icmd.Success)
	res = mg("down", "--volumes")
	res.Assert(t, icmd.Expected{ExitCode: 1, Err: "agent-2: 1 uncommitted change"})
	if strings.Contains(res.Stderr(), "agent-1") {
		t.Errorf("agent-1's merged clone is still said to hold work:\n%s", res.Stderr())
	}
	mg("down", "--volumes", "--force").Assert(t, icmd.Success)
	docker("volume", "inspect", "clonee2e_agent-2-work").Assert(t, icmd.Expected{ExitCode: 1})
}

// The README's first command as root on a fresh machine: a root-owned checkout (a git
// repository) gets the default isolation, a private clone each, with the agents as the
// image's user (1000:1000), who can only read the host tree; the clone shares the origin's
// objects rather than copying them. The agent's work comes back with diff.
func TestCloneIsTheDefaultForARootOwnedCheckout(t *testing.T) {
	anyEngine(t, "clone isolation is docker-magents' own")
	parallelSuite(t)
	e := newFleetEnv(t, "rootclone")
	git := e.initRepo()
	if out, err := exec.Command("chown", "-R", "0:0", e.dir).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v %s", err, out)
	}
	mg := func(args ...string) *icmd.Result { return e.magents(append([]string{"-p", "rootclone"}, args...)...) }
	t.Cleanup(func() { mg("down", "--volumes", "--force") })

	mg("up").Assert(t, icmd.Success)
	if b := readFile(filepath.Join(e.dir, "docker-compose.claude.yml")); !strings.Contains(b, "isolation: clone") {
		t.Fatalf("the default isolation in a repository is not clone:\n%s", b)
	}
	c := "rootclone-agent-1"
	docker("exec", c, "id", "-u").Assert(t, icmd.Expected{Out: "1000"})
	docker("exec", c, "git", "-C", "/workspace", "branch", "--show-current").Assert(t, icmd.Expected{Out: "magents/agent-1"})
	docker("exec", c, "cat", "/workspace/.git/objects/info/alternates").Assert(t, icmd.Expected{Out: "/magents/origin/objects"})
	docker("exec", c, "sh", "-c", `awk '$5 == "/magents/origin" { print $6 }' /proc/self/mountinfo`).Assert(t, icmd.Expected{Out: "ro,"})
	docker("exec", c, "sh", "-c", "cd /workspace && echo 'as the image user' > work.txt && git add work.txt && "+
		"git -c user.name=Agent -c user.email=agent@example.invalid commit -qm 'root-owned clone work'").Assert(t, icmd.Success)
	diff := mg("diff", "agent-1")
	diff.Assert(t, icmd.Success)
	if !strings.Contains(diff.Stdout(), "+as the image user") {
		t.Fatalf("diff agent-1:\n%s", diff.Combined())
	}
	if st := git("status", "--porcelain"); st != "" {
		t.Errorf("the host tree changed:\n%s", st)
	}
}

// A root-owned checkout whose .git is 0700: the agents' user cannot read the git dir, so
// up seeds their clones from a bundle it makes (readable by that user alone); the agent's
// work still comes back with diff and merge.
func TestCloneIsSeededWhenTheGitDirIsUnreadable(t *testing.T) {
	anyEngine(t, "clone isolation is docker-magents' own")
	parallelSuite(t)
	e := newFleetEnv(t, "seedclone")
	git := e.initRepo()
	if out, err := exec.Command("chown", "-R", "0:0", e.dir).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v %s", err, out)
	}
	if err := os.Chmod(filepath.Join(e.dir, ".git"), 0o700); err != nil {
		t.Fatal(err)
	}
	mg := func(args ...string) *icmd.Result { return e.magents(append([]string{"-p", "seedclone"}, args...)...) }
	t.Cleanup(func() { mg("down", "--volumes", "--force") })

	mg("up").Assert(t, icmd.Expected{Err: "cannot read"})
	c := "seedclone-agent-1"
	docker("exec", c, "test", "!", "-r", "/magents/origin/HEAD").Assert(t, icmd.Success)
	docker("exec", c, "git", "-C", "/workspace", "branch", "--show-current").Assert(t, icmd.Expected{Out: "magents/agent-1"})
	docker("exec", c, "cat", "/workspace/README").Assert(t, icmd.Expected{Out: "project"})
	docker("exec", c, "sh", "-c", "cd /workspace && echo 'from a seeded clone' > seeded.txt && git add seeded.txt && "+
		"git -c user.name=Agent -c user.email=agent@example.invalid commit -qm 'seeded work'").Assert(t, icmd.Success)
	diff := mg("diff", "agent-1")
	diff.Assert(t, icmd.Success)
	if !strings.Contains(diff.Stdout(), "+from a seeded clone") {
		t.Fatalf("diff agent-1:\n%s", diff.Combined())
	}
	mg("merge", "agent-1").Assert(t, icmd.Success)
	if log := git("log", "--oneline", "-1"); !strings.Contains(log, "seeded work") {
		t.Errorf("host HEAD after merge: %s", log)
	}
}

// A fleet's volumes belong to its checkout: two checkouts of the same name (so the same
// default project), up and down in the first, then up in the second is refused with what
// to do — its agents would have started on the first one's clone — and, under a project
// of its own, runs beside the first, its task on its own code.
func TestVolumesBelongToTheirCheckout(t *testing.T) {
	anyEngine(t, "projects and their owner records are docker-magents' own")
	parallelSuite(t)
	nonce := fmt.Sprint(time.Now().UnixNano())
	name := "app" + nonce[len(nonce)-6:]
	checkout := func(which string) *fleetEnv {
		e := newFleetEnvIn(t, name, nonce, nil)
		git := e.initRepo()
		if err := os.WriteFile(filepath.Join(e.dir, "WHICH"), []byte(which+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		git("add", "WHICH")
		git("commit", "-q", "-m", "checkout "+which)
		if out, err := exec.Command("chown", "-R", fmt.Sprintf("%d:%d", workspaceUID, workspaceUID), e.dir).CombinedOutput(); err != nil {
			t.Fatalf("chown: %v %s", err, out)
		}
		return e
	}
	a, b := checkout("A"), checkout("B")
	t.Cleanup(func() {
		a.magents("down", "--volumes", "--force")
		b.magents("-p", name+"-b", "down", "--volumes", "--force")
	})
	a.magents("up").Assert(t, icmd.Success)
	agentA := name + "-agent-1"
	docker("exec", agentA, "cat", "/workspace/WHICH").Assert(t, icmd.Expected{Out: "A"})
	a.magents("down").Assert(t, icmd.Success)

	res := b.magents("up")
	res.Assert(t, icmd.Expected{ExitCode: 1, Err: "belong to the fleet of " + filepath.Join(a.dir, "docker-compose.claude.yml")})
	if !strings.Contains(res.Stderr(), "docker magents -p NAME up") {
		t.Errorf("the refusal does not say what to do:\n%s", res.Stderr())
	}
	if _, err := os.Stat(filepath.Join(b.dir, "docker-compose.claude.yml")); err == nil {
		t.Error("a refused up wrote the compose file")
	}

	// Side by side: the first again, the second under a project of its own.
	a.magents("up").Assert(t, icmd.Success)
	b.magents("-p", name+"-b", "up").Assert(t, icmd.Success)
	agentB := name + "-b-agent-1"
	docker("exec", agentB, "cat", "/workspace/WHICH").Assert(t, icmd.Expected{Out: "B"})
	docker("exec", agentA, "cat", "/workspace/WHICH").Assert(t, icmd.Expected{Out: "A"})
	b.magents("-p", name+"-b", "queue", "add", "Look around.").Assert(t, icmd.Expected{Out: "task-1 queued"})
	var task struct{ State, Branch, Base string }
	waitFor(t, 120*time.Second, "task-1 to be done on the second checkout", func() (bool, string) {
		res := b.magents("-p", name+"-b", "queue", "show", "task-1", "--format", "json")
		return json.Unmarshal([]byte(res.Stdout()), &task) == nil && task.State == "done", res.Combined()
	})
	headB := strings.TrimSpace(string(must(exec.Command("git", "-c", "safe.directory=*", "-C", b.dir, "rev-parse", "HEAD").Output())))
	if task.Base != headB {
		t.Errorf("task-1 ran on %s, not on the second checkout's %s", task.Base, headB)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// A workspace below its repository's top is cloned too, never shared by default: the
// agents clone the whole repository and work in the same directory of it, and the
// developer's tree is not theirs to write.
func TestSubdirectoryWorkspaceIsCloned(t *testing.T) {
	anyEngine(t, "clone isolation is docker-magents' own")
	parallelSuite(t)
	nonce := fmt.Sprint(time.Now().UnixNano())
	e := newFleetEnvWith(t, nonce, nil).inProject("subdirclone")
	git := e.initRepo()
	sub := filepath.Join(e.dir, "services", "api")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sub, "main.go"), []byte("package main\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	git("add", ".")
	git("commit", "-q", "-m", "a service")
	if err := os.Rename(filepath.Join(e.dir, ".env.magents"), filepath.Join(sub, ".env.magents")); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("chown", "-R", fmt.Sprintf("%d:%d", workspaceUID, workspaceUID), e.dir).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v %s", err, out)
	}
	mg := func(args ...string) *icmd.Result {
		return dockerIn(sub, []string{"ANTHROPIC_API_KEY=" + e.apiKey}, append([]string{"magents", "-p", "subdirclone"}, args...)...)
	}
	t.Cleanup(func() { mg("down", "--volumes", "--force") })
	up := mg("up", "--agent-cmd", "bash")
	up.Assert(t, icmd.Success)
	if strings.Contains(up.Stderr(), "Isolation shared") {
		t.Errorf("a subdirectory of a repository was shared:\n%s", up.Stderr())
	}
	if compose := readFile(filepath.Join(sub, "docker-compose.claude.yml")); !strings.Contains(compose, "isolation: clone") || !strings.Contains(compose, "subdir: services/api") {
		t.Errorf("the compose file:\n%s", compose)
	}
	agent := "subdirclone-agent-1"
	waitFor(t, 60*time.Second, "the session to start in the service's directory of the clone", func() (bool, string) {
		res := docker("exec", agent, "tmux", "display-message", "-p", "-t", "claude", "#{pane_current_path}")
		return strings.TrimSpace(res.Stdout()) == "/workspace/services/api", res.Combined() +
			docker("exec", agent, "sh", "-c", "env | grep MAGENTS_WORK; ls -la /workspace /workspace/services").Combined() + docker("logs", "--tail", "20", agent).Combined()
	})
	docker("exec", agent, "cat", "/workspace/services/api/main.go").Assert(t, icmd.Expected{Out: "package main"})
	// The developer's tree is not the agent's to write: what it writes stays in its clone.
	docker("exec", agent, "sh", "-c", "echo agent > /workspace/services/api/planted").Assert(t, icmd.Success)
	if _, err := os.Stat(filepath.Join(sub, "planted")); err == nil {
		t.Error("the agent wrote the developer's tree")
	}
}
