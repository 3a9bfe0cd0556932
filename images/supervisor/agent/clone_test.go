package agent

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func gitT(t *testing.T, dir string, args ...string) string {
	t.Helper()
	out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// The clone is made once, on the agent's branch, with the untracked files asked for; a
// second start keeps it and the work in it.
func TestPrepareClone(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	origin, ws := t.TempDir(), t.TempDir()
	gitT(t, origin, "init", "-q", "-b", "main")
	gitT(t, origin, "-c", "user.name=Dev", "-c", "user.email=dev@example.invalid", "commit", "-q", "--allow-empty", "-m", "first")
	first := gitT(t, origin, "rev-parse", "HEAD")
	for name, content := range map[string]string{".gitignore": ".env\nlocal/\n", "README": "hi\n"} {
		if err := os.WriteFile(filepath.Join(origin, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	gitT(t, origin, "add", ".")
	gitT(t, origin, "-c", "user.name=Dev", "-c", "user.email=dev@example.invalid", "commit", "-q", "-m", "second")
	for name, content := range map[string]string{".env": "A=1\n", "local/conf": "x\n", "scratch": "no\n", ".magentsinclude": "local/\n"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(origin, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(origin, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// The host stages the included files; the agent sees only the git dir.
	staged := t.TempDir()
	for name, content := range map[string]string{".env": "A=1\n", "local/conf": "x\n"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(staged, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(staged, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := map[string]string{"MAGENTS_CLONE_FROM": filepath.Join(origin, ".git"), "MAGENTS_CLONE_BRANCH": "magents/agent-2", "MAGENTS_CLONE_INCLUDE_DIR": staged}
	cfg := Config{Workspace: ws}
	if err := prepareClone(cfg, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if b := gitT(t, ws, "branch", "--show-current"); b != "magents/agent-2" {
		t.Errorf("on branch %q", b)
	}
	for _, name := range []string{".env", "local/conf"} {
		if _, err := os.Stat(filepath.Join(ws, name)); err != nil {
			t.Errorf("%s not carried over: %v", name, err)
		}
	}
	if _, err := os.Stat(filepath.Join(ws, "scratch")); err == nil {
		t.Error("an untracked file nobody asked for was copied")
	}
	if alt, err := os.ReadFile(filepath.Join(ws, ".git", "objects", "info", "alternates")); err != nil || strings.TrimSpace(string(alt)) != filepath.Join(origin, ".git", "objects") {
		t.Errorf("the clone does not borrow the origin's objects: %q %v", alt, err)
	}
	// Work in the clone survives the next start.
	if err := os.WriteFile(filepath.Join(ws, "work.txt"), []byte("mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := prepareClone(cfg, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(ws, "work.txt")); err != nil {
		t.Error("a second start lost the work in the clone")
	}

	// From a base: a commit, or a branch of the origin.
	ws2 := t.TempDir()
	env["MAGENTS_CLONE_BASE"], env["MAGENTS_CLONE_INCLUDE_DIR"] = first, ""
	if err := prepareClone(Config{Workspace: ws2}, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if head := gitT(t, ws2, "rev-parse", "HEAD"); head != first {
		t.Errorf("from base %s: HEAD is %s", first, head)
	}
	ws3 := t.TempDir()
	env["MAGENTS_CLONE_BASE"] = "nosuchbranch"
	if err := prepareClone(Config{Workspace: ws3}, func(k string) string { return env[k] }); err == nil || !strings.Contains(err.Error(), "nosuchbranch") {
		t.Errorf("an unknown base: %v", err)
	}
}

// An agent that cannot read the host's git dir clones from the bundle the host seeded: a
// copy, on its branch, from the base asked for.
func TestPrepareCloneFromSeed(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	origin, ws := t.TempDir(), t.TempDir()
	gitT(t, origin, "init", "-q", "-b", "main")
	gitT(t, origin, "-c", "user.name=Dev", "-c", "user.email=dev@example.invalid", "commit", "-q", "--allow-empty", "-m", "first")
	gitT(t, origin, "branch", "release")
	gitT(t, origin, "-c", "user.name=Dev", "-c", "user.email=dev@example.invalid", "commit", "-q", "--allow-empty", "-m", "second")
	seed := filepath.Join(t.TempDir(), "repo.bundle")
	gitT(t, origin, "bundle", "create", "-q", seed, "--all")
	env := map[string]string{"MAGENTS_CLONE_FROM": seed, "MAGENTS_CLONE_BRANCH": "magents/agent-1", "MAGENTS_CLONE_BASE": "release"}
	if err := prepareClone(Config{Workspace: ws}, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	if b := gitT(t, ws, "branch", "--show-current"); b != "magents/agent-1" {
		t.Errorf("on %s", b)
	}
	if got, want := gitT(t, ws, "rev-parse", "HEAD"), gitT(t, origin, "rev-parse", "release"); got != want {
		t.Errorf("started from %s, want release %s", got, want)
	}
	if _, err := os.Stat(filepath.Join(ws, ".git", "objects", "info", "alternates")); err == nil {
		t.Error("a clone of a bundle borrows objects from somewhere")
	}
}
