package workspace

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
