package workspace

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// newRepo makes a git repository with one commit, an untracked .env and an ignored file.
func newRepo(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, args := range [][]string{
		{"init", "-q", "-b", "main"},
		{"config", "user.email", "dev@example.invalid"},
		{"config", "user.name", "Dev"},
	} {
		gitIn(t, dir, args...)
	}
	write(t, filepath.Join(dir, "README"), "hello\n")
	write(t, filepath.Join(dir, ".gitignore"), ".env\n.magents/\n")
	gitIn(t, dir, "add", ".")
	gitIn(t, dir, "commit", "-q", "-m", "first")
	write(t, filepath.Join(dir, ".env"), "TOKEN_NAME=x\n")
	write(t, filepath.Join(dir, "scratch.txt"), "not included\n")
	return dir
}

func gitIn(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestWorktreesBranchesIncludesDiffMerge(t *testing.T) {
	dir := newRepo(t)
	if r, err := Open(t.TempDir()); err != nil || r != nil {
		t.Fatalf("a plain directory opened as a repo: %v %v", r, err)
	}
	r, err := Open(dir)
	if err != nil || r == nil {
		t.Fatalf("open: %v", err)
	}
	if r.CommonDir != filepath.Join(dir, ".git") {
		t.Errorf("common dir %s", r.CommonDir)
	}
	write(t, filepath.Join(dir, IncludeFile), "# carried over\n.env\n")
	includes, err := r.Includes(nil)
	if err != nil || strings.Join(includes, ",") != ".env" {
		t.Fatalf("includes %v %v", includes, err)
	}
	for _, agent := range []string{"agent-1", "agent-2"} {
		wt := filepath.Join(dir, ".magents", "worktrees", agent)
		if err := r.AddWorktree(wt, agent, "", includes); err != nil {
			t.Fatal(err)
		}
		if got := gitIn(t, wt, "branch", "--show-current"); got != Branch(agent) {
			t.Errorf("%s is on %s", agent, got)
		}
		if b, err := os.ReadFile(filepath.Join(wt, ".env")); err != nil || string(b) != "TOKEN_NAME=x\n" {
			t.Errorf("%s: .env not carried over: %v", agent, err)
		}
		if _, err := os.Stat(filepath.Join(wt, "scratch.txt")); err == nil {
			t.Errorf("%s: an untracked file not in the include list was copied", agent)
		}
	}
	// Adding again keeps the worktree and what the agent did there.
	wt1 := filepath.Join(dir, ".magents", "worktrees", "agent-1")
	write(t, filepath.Join(wt1, "work.txt"), "done\n")
	gitIn(t, wt1, "add", "work.txt")
	gitIn(t, wt1, "commit", "-q", "-m", "agent work")
	if err := r.AddWorktree(wt1, "agent-1", "", includes); err != nil {
		t.Fatal(err)
	}
	diff, err := r.Diff("agent-1", false)
	if err != nil || !strings.Contains(diff, "+done") {
		t.Fatalf("diff: %v\n%s", err, diff)
	}
	if _, err := r.Merge("agent-1", ""); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "work.txt")); err != nil || string(b) != "done\n" {
		t.Errorf("merged file: %v", err)
	}

	// A conflict is refused and leaves both sides as they were.
	wt2 := filepath.Join(dir, ".magents", "worktrees", "agent-2")
	write(t, filepath.Join(wt2, "README"), "agent-2's\n")
	gitIn(t, wt2, "commit", "-q", "-am", "agent-2 edit")
	write(t, filepath.Join(dir, "README"), "host's\n")
	gitIn(t, dir, "commit", "-q", "-am", "host edit")
	head := gitIn(t, dir, "rev-parse", "HEAD")
	if _, err := r.Merge("agent-2", ""); err == nil || !strings.Contains(err.Error(), "Nothing was changed") {
		t.Fatalf("conflicting merge: %v", err)
	}
	if gitIn(t, dir, "rev-parse", "HEAD") != head || gitIn(t, dir, "status", "--porcelain", "--untracked-files=no") != "" {
		t.Error("a refused merge changed the host")
	}
	if b, _ := os.ReadFile(filepath.Join(wt2, "README")); string(b) != "agent-2's\n" {
		t.Error("a refused merge changed the agent's worktree")
	}
}

// Removing a worktree refuses to lose uncommitted changes or unmerged commits, and says
// which; a merged, clean worktree goes with its branch; --force deletes anything.
func TestRemoveWorktreeKeepsWork(t *testing.T) {
	dir := newRepo(t)
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	wt := func(agent string) string { return filepath.Join(dir, ".magents", "worktrees", agent) }
	for _, agent := range []string{"agent-1", "agent-2", "agent-3"} {
		if err := r.AddWorktree(wt(agent), agent, "", nil); err != nil {
			t.Fatal(err)
		}
	}
	// agent-1: merged work. agent-2: an unmerged commit and an uncommitted file. agent-3: nothing.
	write(t, filepath.Join(wt("agent-1"), "a.txt"), "a\n")
	gitIn(t, wt("agent-1"), "add", "a.txt")
	gitIn(t, wt("agent-1"), "commit", "-q", "-m", "a")
	if _, err := r.Merge("agent-1", ""); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(wt("agent-2"), "b.txt"), "b\n")
	gitIn(t, wt("agent-2"), "add", "b.txt")
	gitIn(t, wt("agent-2"), "commit", "-q", "-m", "b")
	write(t, filepath.Join(wt("agent-2"), "wip.txt"), "wip\n")

	st, err := r.Status("agent-2", wt("agent-2"))
	if err != nil || st.Clean() || st.Unmerged != 1 || len(st.Changed) != 1 {
		t.Fatalf("agent-2 status %+v %v", st, err)
	}
	if got := st.Summary(); got != "1 uncommitted change, 1 unmerged commit on magents/agent-2" {
		t.Errorf("summary %q", got)
	}
	err = r.RemoveWorktree("agent-2", wt("agent-2"), false)
	if err == nil || !strings.Contains(err.Error(), "1 unmerged commit") || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("removing agent-2's work: %v", err)
	}
	if _, err := os.Stat(filepath.Join(wt("agent-2"), "wip.txt")); err != nil {
		t.Fatal("a refused removal deleted the work")
	}
	for _, agent := range []string{"agent-1", "agent-3"} {
		if err := r.RemoveWorktree(agent, wt(agent), false); err != nil {
			t.Fatalf("%s: %v", agent, err)
		}
		if _, err := os.Stat(wt(agent)); err == nil {
			t.Errorf("%s's worktree is still there", agent)
		}
	}
	if err := r.RemoveWorktree("agent-2", wt("agent-2"), true); err != nil {
		t.Fatal(err)
	}
	if branches := gitIn(t, dir, "branch", "--list", "magents/*"); branches != "" {
		t.Errorf("branches left: %s", branches)
	}
	if _, err := os.Stat(filepath.Join(dir, "a.txt")); err != nil {
		t.Error("the merged work left the host")
	}
}

func TestCheckWritable(t *testing.T) {
	dir := t.TempDir()
	if os.Getuid() == 0 {
		// Root may write anywhere: give the directory a non-root owner to judge.
		if err := os.Chown(dir, 4242, 4242); err != nil {
			t.Fatal(err)
		}
	}
	st, _ := os.Stat(dir)
	owner := int(st.Sys().(*syscall.Stat_t).Uid)
	group := int(st.Sys().(*syscall.Stat_t).Gid)
	if err := CheckWritable(dir, 0, 0); err != nil {
		t.Errorf("root: %v", err)
	}
	for _, tc := range []struct {
		mode     os.FileMode
		uid, gid int
		ok       bool
	}{
		{0o755, owner + 1000, group + 1000, false},
		{0o757, owner + 1000, group + 1000, true},
		{0o775, owner + 1000, group, true},
		{0o755, owner + 1000, group, false},
		{0o700, owner, group, true},
		{0o500, owner, group, false},
	} {
		if err := os.Chmod(dir, tc.mode); err != nil {
			t.Fatal(err)
		}
		err := CheckWritable(dir, tc.uid, tc.gid)
		if (err == nil) != tc.ok {
			t.Errorf("mode %04o as %d:%d: %v, want ok=%v", tc.mode, tc.uid, tc.gid, err, tc.ok)
		}
	}
	_ = os.Chmod(dir, 0o700)
}

// An included file that is a symlink out of the repository is refused, by name; one that
// stays inside is carried.
func TestIncludeRefusesSymlinksOut(t *testing.T) {
	dir := newRepo(t)
	r, err := Open(dir)
	if err != nil || r == nil {
		t.Fatalf("open: %v", err)
	}
	secret := filepath.Join(t.TempDir(), "id_rsa")
	write(t, secret, "host secret\n")
	if err := os.Symlink(secret, filepath.Join(dir, "key.pem")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(".env", filepath.Join(dir, "env.link")); err != nil {
		t.Fatal(err)
	}
	wt := filepath.Join(dir, ".magents", "worktrees", "agent-1")
	err = r.AddWorktree(wt, "agent-1", "", []string{"key.pem"})
	if err == nil || !strings.Contains(err.Error(), "key.pem is a symlink to "+secret) {
		t.Fatalf("a symlink out of the repository: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(wt, "key.pem")); err == nil {
		t.Errorf("the host file reached the worktree: %q", b)
	}
	if err := InsideTree(dir, "env.link"); err != nil {
		t.Errorf("a symlink inside the repository: %v", err)
	}
}

// What an agent commits is untrusted: merge refuses symlinks that point out of the tree,
// names them, and changes nothing; one inside the tree merges. diff runs no textconv or
// external diff program the host's config names.
func TestMergeRefusesSymlinksOut(t *testing.T) {
	dir := newRepo(t)
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	wt := filepath.Join(dir, ".magents", "worktrees", "agent-1")
	if err := r.AddWorktree(wt, "agent-1", "", nil); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{"key": "/home/dev/.ssh/id_rsa", "docs/up": "../../outside", "docs/ok": "../README"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(wt, link)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, filepath.Join(wt, link)); err != nil {
			t.Fatal(err)
		}
	}
	gitIn(t, wt, "add", ".")
	gitIn(t, wt, "commit", "-q", "-m", "links")
	head := gitIn(t, dir, "rev-parse", "HEAD")
	_, err = r.Merge("agent-1", "")
	if err == nil || !strings.Contains(err.Error(), "docs/up -> ../../outside") || !strings.Contains(err.Error(), "key -> /home/dev/.ssh/id_rsa") ||
		strings.Contains(err.Error(), "docs/ok") {
		t.Fatalf("merge of links out of the tree: %v", err)
	}
	if gitIn(t, dir, "rev-parse", "HEAD") != head {
		t.Error("a refused merge moved HEAD")
	}
	// A textconv program the host configured does not run on what the agent wrote.
	marker := filepath.Join(t.TempDir(), "ran")
	gitIn(t, dir, "config", "diff.conv.textconv", "touch "+marker+"; cat")
	write(t, filepath.Join(dir, ".gitattributes"), "*.txt diff=conv\n")
	write(t, filepath.Join(wt, "a.txt"), "a\n")
	gitIn(t, wt, "add", ".")
	gitIn(t, wt, "commit", "-q", "-m", "attributes")
	if d, err := r.Diff("agent-1", false); err != nil || !strings.Contains(d, "+a") {
		t.Fatalf("diff: %v %s", err, d)
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("diff ran the textconv program")
	}
}

// A clone fleet's included files are staged afresh for the agents' user: only what the
// patterns name, nothing that was staged before.
func TestStageIncludes(t *testing.T) {
	dir := newRepo(t)
	r, err := Open(dir)
	if err != nil || r == nil {
		t.Fatalf("open: %v", err)
	}
	stage := filepath.Join(t.TempDir(), "include")
	if err := os.MkdirAll(stage, 0o700); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(stage, "stale"), "from an earlier up\n")
	if err := r.StageIncludes(stage, []string{".env"}, os.Geteuid(), os.Getegid()); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(stage, ".env")); err != nil || string(b) != "TOKEN_NAME=x\n" {
		t.Errorf(".env not staged: %q %v", b, err)
	}
	for _, name := range []string{"stale", "scratch.txt"} {
		if _, err := os.Stat(filepath.Join(stage, name)); err == nil {
			t.Errorf("%s is staged", name)
		}
	}
	if st, err := os.Stat(stage); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("stage dir: %v %v", st, err)
	}
}
