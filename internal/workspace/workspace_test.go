package workspace

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker-magents/docker-magents/internal/fileowner"
	"github.com/docker-magents/docker-magents/internal/fleet"
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
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// agentClone is what an agent's supervisor makes: a clone of the repository at dir, the
// origin's objects its alternates, on the agent's branch.
func agentClone(t *testing.T, dir, agent string) string {
	t.Helper()
	clone := filepath.Join(t.TempDir(), agent)
	gitIn(t, "", "clone", "-q", "--shared", dir, clone)
	gitIn(t, clone, "checkout", "-q", "-b", Branch(agent))
	gitIn(t, clone, "config", "user.email", agent+"@example.invalid")
	gitIn(t, clone, "config", "user.name", agent)
	return clone
}

// send brings agent's branch from its clone into the host repository as the plugin
// does: through a bundle, which is data, never by running git in the clone.
func send(t *testing.T, r *Repo, clone, agent string) {
	t.Helper()
	bundle := filepath.Join(t.TempDir(), agent+".bundle")
	gitIn(t, clone, "bundle", "create", "-q", bundle, "refs/heads/"+Branch(agent))
	if err := r.FetchBundle(bundle, Branch(agent)); err != nil {
		t.Fatal(err)
	}
}

func commitIn(t *testing.T, clone, file, content, msg string) {
	t.Helper()
	write(t, filepath.Join(clone, file), content)
	gitIn(t, clone, "add", "-A")
	gitIn(t, clone, "commit", "-q", "-m", msg)
}

func TestBranchesIncludesDiffMerge(t *testing.T) {
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
	c1, c2 := agentClone(t, dir, "agent-1"), agentClone(t, dir, "agent-2")
	commitIn(t, c1, "work.txt", "done\n", "agent work")
	send(t, r, c1, "agent-1")
	if n, err := r.Unmerged("agent-1"); err != nil || n != 1 {
		t.Errorf("agent-1 unmerged: %d %v", n, err)
	}
	diff, err := r.Diff("agent-1", false)
	if err != nil || !strings.Contains(diff, "+done") {
		t.Fatalf("diff: %v\n%s", err, diff)
	}
	if _, err := r.Merge("agent-1", MergeOptions{}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "work.txt")); err != nil || string(b) != "done\n" {
		t.Errorf("merged file: %v", err)
	}
	if n, err := r.Unmerged("agent-1"); err != nil || n != 0 {
		t.Errorf("agent-1 unmerged after merge: %d %v", n, err)
	}

	// A conflict is refused and leaves both sides as they were.
	commitIn(t, c2, "README", "agent-2's\n", "agent-2 edit")
	send(t, r, c2, "agent-2")
	write(t, filepath.Join(dir, "README"), "host's\n")
	gitIn(t, dir, "commit", "-q", "-am", "host edit")
	head := gitIn(t, dir, "rev-parse", "HEAD")
	if _, err := r.Merge("agent-2", MergeOptions{}); err == nil || !strings.Contains(err.Error(), "Nothing was changed") {
		t.Fatalf("conflicting merge: %v", err)
	}
	if gitIn(t, dir, "rev-parse", "HEAD") != head || gitIn(t, dir, "status", "--porcelain", "--untracked-files=no") != "" {
		t.Error("a refused merge changed the host")
	}
	if err := r.DeleteBranch("agent-2"); err != nil {
		t.Fatal(err)
	}
	if err := r.DeleteBranch("agent-3"); err != nil {
		t.Errorf("deleting a branch that is not there: %v", err)
	}
	if branches := gitIn(t, dir, "branch", "--list", "magents/agent-2"); branches != "" {
		t.Errorf("branch left: %s", branches)
	}
}

// A bundle moves only the agent's own branch: one that also carries main (moved by the
// agent) leaves the host's main alone.
func TestFetchBundleMovesOnlyTheAgentsBranch(t *testing.T) {
	dir := newRepo(t)
	r, _ := Open(dir)
	main := gitIn(t, dir, "rev-parse", "main")
	c := agentClone(t, dir, "agent-1")
	commitIn(t, c, "x.txt", "x\n", "x")
	gitIn(t, c, "branch", "-f", "main", "HEAD")
	bundle := filepath.Join(t.TempDir(), "all.bundle")
	gitIn(t, c, "bundle", "create", "-q", bundle, "--all")
	if err := r.FetchBundle(bundle, Branch("agent-1")); err != nil {
		t.Fatal(err)
	}
	if got := gitIn(t, dir, "rev-parse", "main"); got != main {
		t.Errorf("main moved to %s", got)
	}
}

// An agent's directory is made once, for its user, and then left alone; a git worktree
// of the host's repository there, from versions that let agents write the git dir, is
// refused by name.
func TestMakeWorktreeDir(t *testing.T) {
	dir := newRepo(t)
	r, _ := Open(dir)
	wt := filepath.Join(dir, ".magents", "worktrees", "agent-1")
	if err := r.MakeWorktreeDir(wt, os.Geteuid(), os.Getegid()); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(wt, "work.txt"), "w\n")
	// An agent that makes its .git a file is not taken for an old worktree.
	write(t, filepath.Join(wt, ".git"), "gitdir: "+filepath.Join(dir, ".git", "worktrees", "agent-1")+"\n")
	if err := r.MakeWorktreeDir(wt, os.Geteuid(), os.Getegid()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(wt, "work.txt")); err != nil {
		t.Error("the agent's work is gone")
	}
	legacy := filepath.Join(dir, ".magents", "worktrees", "agent-2")
	gitIn(t, dir, "worktree", "add", "-q", "-b", Branch("agent-2"), legacy)
	if err := r.MakeWorktreeDir(legacy, os.Geteuid(), os.Getegid()); err == nil || !strings.Contains(err.Error(), "git worktree remove") {
		t.Errorf("a legacy worktree: %v", err)
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
	owner, group, _ := fileowner.Of(st)
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
	wt := filepath.Join(t.TempDir(), "include")
	err = r.StageIncludes(wt, []string{"key.pem"}, os.Geteuid(), os.Getegid())
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
// external diff program the host's config names; merge refuses a branch that changes
// .gitattributes (which picks filter and merge drivers).
func TestMergeRefusesSymlinksOut(t *testing.T) {
	dir := newRepo(t)
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	wt := agentClone(t, dir, "agent-1")
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
	send(t, r, wt, "agent-1")
	head := gitIn(t, dir, "rev-parse", "HEAD")
	_, err = r.Merge("agent-1", MergeOptions{})
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
	send(t, r, wt, "agent-1")
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

// A branch that sets a merge driver or filter through a committed .gitattributes is not
// merged, and the host's configured driver never runs on it.
func TestMergeRefusesAttributes(t *testing.T) {
	dir := newRepo(t)
	r, _ := Open(dir)
	marker := filepath.Join(t.TempDir(), "ran")
	gitIn(t, dir, "config", "filter.evil.smudge", "touch "+marker+"; cat")
	gitIn(t, dir, "config", "merge.evil.driver", "touch "+marker+"; true")
	c := agentClone(t, dir, "agent-1")
	if err := os.Mkdir(filepath.Join(c, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(c, "sub", ".gitattributes"), "* filter=evil merge=evil\n")
	commitIn(t, c, "sub/x.txt", "x\n", "attributes")
	send(t, r, c, "agent-1")
	head := gitIn(t, dir, "rev-parse", "HEAD")
	_, err := r.Merge("agent-1", MergeOptions{})
	if err == nil || !strings.Contains(err.Error(), "changes sub/.gitattributes") {
		t.Fatalf("merge of a committed .gitattributes: %v", err)
	}
	if gitIn(t, dir, "rev-parse", "HEAD") != head {
		t.Error("a refused merge moved HEAD")
	}
	if _, err := os.Stat(marker); err == nil {
		t.Error("the host's filter or merge driver ran on the agent's files")
	}
}

// A git dir the agents' user cannot read (a root-owned .git of mode 0700) is told apart
// from one it can; the seed bundle then holds every ref, readable by that user alone.
func TestCheckReadableAndSeed(t *testing.T) {
	dir := newRepo(t)
	r, _ := Open(dir)
	gitDir := filepath.Join(dir, ".git")
	if err := CheckReadable(gitDir, os.Geteuid(), os.Getegid()); err != nil {
		t.Errorf("the owner: %v", err)
	}
	if err := os.Chmod(gitDir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := CheckReadable(gitDir, 4242, 4242); err == nil || !strings.Contains(err.Error(), "cannot read") {
		t.Errorf("a 0700 git dir of someone else: %v", err)
	}
	if err := os.Chmod(gitDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := CheckReadable(gitDir, 4242, 4242); err != nil {
		t.Errorf("a 0755 git dir: %v", err)
	}
	gitIn(t, dir, "branch", "release")
	seed := filepath.Join(t.TempDir(), "seed", "repo.bundle")
	if err := r.WriteSeed(seed, os.Geteuid(), os.Getegid()); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(seed); err != nil || st.Mode().Perm() != 0o400 {
		t.Fatalf("seed: %v %v", st, err)
	}
	if heads := gitIn(t, dir, "bundle", "list-heads", seed); !strings.Contains(heads, "refs/heads/release") || !strings.Contains(heads, "refs/heads/main") {
		t.Errorf("the seed's refs:\n%s", heads)
	}
}

// Merge judges a branch by its effect on the checked-out tree: a symlink that leaves the
// tree only through another link (the textual target stays inside), one into .git, a
// .gitattributes or .gitmodules however spelt, and an unannounced change to a file the
// host reads as instructions are refused; a link the host already had is the developer's.
func TestMergeJudgesByEffect(t *testing.T) {
	for _, tc := range []struct {
		name  string
		make  func(t *testing.T, clone string)
		allow []string
		want  string // in the refusal; "" merges
	}{
		{"a chain of links climbing out", func(t *testing.T, c string) {
			symlink(t, c, "l2", ".")
			symlink(t, c, "l1", "l2/l2/l2/l2/l2/l2/../../../../../../etc/passwd")
		}, nil, "l1 -> l2/l2/l2/l2/l2/l2/../../../../../../etc/passwd"},
		{"a link into .git", func(t *testing.T, c string) {
			symlink(t, c, "docs/cfg", "../.git/config")
		}, nil, "docs/cfg -> ../.git/config"},
		{"a link into .GIT through a link", func(t *testing.T, c string) {
			symlink(t, c, "docs/up", "..")
			symlink(t, c, "docs/hooks", "up/.GIT/hooks")
		}, nil, "docs/hooks -> up/.GIT/hooks"},
		{"a backslash path on Windows", func(t *testing.T, c string) {
			symlink(t, c, "win", `..\..\Users`)
		}, nil, `win -> ..\..\Users`},
		{".GitAttributes", func(t *testing.T, c string) {
			write(t, filepath.Join(c, ".GitAttributes"), "* filter=evil\n")
		}, nil, "changes .GitAttributes"},
		{".gitmodules with a trailing dot", func(t *testing.T, c string) {
			write(t, filepath.Join(c, ".gitmodules."), "[submodule \"x\"]\n")
		}, nil, "changes .gitmodules."},
		{"an NTFS short name of .gitmodules", func(t *testing.T, c string) {
			write(t, filepath.Join(c, "GITMOD~1"), "[submodule \"x\"]\n")
		}, nil, "changes GITMOD~1"},
		{".magentsinclude", func(t *testing.T, c string) {
			write(t, filepath.Join(c, IncludeFile), ".env\n*.pem\n")
		}, nil, ".magentsinclude (up copies the untracked files it names into every agent)"},
		{".magentsinclude, allowed", func(t *testing.T, c string) {
			write(t, filepath.Join(c, IncludeFile), ".env\n")
		}, []string{IncludeFile}, ""},
		{"Claude's project hooks, spelt otherwise", func(t *testing.T, c string) {
			write(t, filepath.Join(c, ".Claude", "Settings.json"), `{"hooks":{}}`)
		}, []string{".envrc"}, ".Claude/Settings.json (Claude Code's project settings"},
		{"the devcontainer, allowed by its directory", func(t *testing.T, c string) {
			write(t, filepath.Join(c, ".devcontainer", "devcontainer.json"), `{}`)
		}, []string{".devcontainer/"}, ""},
		{"links that stay inside", func(t *testing.T, c string) {
			symlink(t, c, "l2", ".")
			symlink(t, c, "docs/readme", "../l2/l2/README")
		}, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := newRepo(t)
			r, _ := Open(dir)
			c := agentClone(t, dir, "agent-1")
			tc.make(t, c)
			gitIn(t, c, "add", "-A")
			gitIn(t, c, "commit", "-q", "-m", tc.name)
			send(t, r, c, "agent-1")
			head := gitIn(t, dir, "rev-parse", "HEAD")
			_, err := r.Merge("agent-1", MergeOptions{AllowChange: tc.allow})
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("merge: %v; want a refusal naming %q", err, tc.want)
			case tc.want != "" && gitIn(t, dir, "rev-parse", "HEAD") != head:
				t.Error("a refused merge moved HEAD")
			}
		})
	}
}

// A link the developer's branch already has is theirs, even one that leads out; a
// branch that makes such a link of theirs lead out is refused.
func TestMergeJudgesLinksAgainstTheHost(t *testing.T) {
	dir := newRepo(t)
	symlink(t, dir, "tools", "/opt/tools")
	symlink(t, dir, "docs/readme", "l2/../../README")
	gitIn(t, dir, "add", "-A")
	gitIn(t, dir, "commit", "-q", "-m", "the developer's links")
	r, _ := Open(dir)
	c := agentClone(t, dir, "agent-1")
	commitIn(t, c, "a.txt", "a\n", "unrelated")
	send(t, r, c, "agent-1")
	if _, err := r.Merge("agent-1", MergeOptions{}); err != nil {
		t.Fatalf("the host's own link out refused an unrelated merge: %v", err)
	}
	c2 := agentClone(t, dir, "agent-2")
	symlink(t, c2, "docs/l2", "..")
	gitIn(t, c2, "add", "-A")
	gitIn(t, c2, "commit", "-q", "-m", "a link that makes docs/readme climb out")
	send(t, r, c2, "agent-2")
	if _, err := r.Merge("agent-2", MergeOptions{}); err == nil || !strings.Contains(err.Error(), "docs/readme -> l2/../../README") {
		t.Fatalf("a branch that turns the host's link outwards: %v", err)
	}
}

func symlink(t *testing.T, root, link, target string) {
	t.Helper()
	p := filepath.Join(root, link)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, p); err != nil {
		t.Fatal(err)
	}
}

// The root, the home directory and what holds it are never shared workspaces; a project
// in the home directory, or anywhere else, may be.
func TestSharedRefusesHome(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	project := filepath.Join(home, "src", "project")
	if err := os.MkdirAll(project, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, ws := range []string{"/", home, filepath.Dir(home), home + "/"} {
		f := fleet.New("p", filepath.Join(ws, "docker-compose.claude.yml"))
		if err := SetIsolation(f, ws, Shared, true); err == nil || !strings.Contains(err.Error(), "never share") {
			t.Errorf("%s shared: %v", ws, err)
		}
	}
	for _, ws := range []string{project, t.TempDir()} {
		f := fleet.New("p", filepath.Join(ws, "docker-compose.claude.yml"))
		if err := SetIsolation(f, ws, Shared, true); err != nil || f.Isolation != Shared {
			t.Errorf("%s shared: %v %q", ws, err, f.Isolation)
		}
	}
}

func TestRelayedRemotes(t *testing.T) {
	dir := newRepo(t)
	r, err := Open(dir)
	if err != nil || r == nil {
		t.Fatal(err)
	}
	if got, err := r.RelayedRemotes([]byte("https://bot:t@github.com\n")); err != nil || len(got) != 0 {
		t.Errorf("no remote: %v %v", got, err)
	}
	gitIn(t, dir, "remote", "add", "origin", "https://github.com/org/app.git")
	gitIn(t, dir, "remote", "set-url", "--push", "origin", "https://bot@GitHub.com/org/app")
	gitIn(t, dir, "remote", "add", "fork", "https://gitlab.com/me/app.git")
	gitIn(t, dir, "remote", "add", "ssh", "git@github.com:org/other.git")
	gitIn(t, dir, "remote", "add", "plain", "http://10.0.0.5:8080/team.git")
	got, err := r.RelayedRemotes([]byte("https://bot:t@github.com\nhttp://bot:t@10.0.0.5:8080\n"))
	want := []string{"http://10.0.0.5:8080/team", "https://github.com/org/app"}
	if err != nil || strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("RelayedRemotes = %v, %v; want %v (github's fetch and push URL once, no host without a credential, no ssh)", got, err, want)
	}
}
