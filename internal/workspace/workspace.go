// Package workspace gives each agent of a fleet its own place to work: a git worktree on
// its own branch (the default in a git repository), the shared directory, or (later) a
// private clone. It runs git as the workspace's owner, so nothing it creates is owned by
// root.
package workspace

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/docker-magents/docker-magents/images/supervisor/gitrelay"
	"github.com/docker-magents/docker-magents/internal/fileowner"
	"github.com/docker-magents/docker-magents/internal/fleet"
)

// Isolation modes, as the fleet model names them.
const (
	Worktree = fleet.IsolationWorktree
	Shared   = fleet.IsolationShared
	Clone    = fleet.IsolationClone
)

// IncludeFile lists untracked files to carry into every agent's worktree (fleet.IncludeFile).
const IncludeFile = fleet.IncludeFile

// Repo is the git repository a workspace lives in.
type Repo struct {
	Root      string // the work tree's top directory
	CommonDir string // the git dir shared by all worktrees (absolute)
	uid, gid  int    // the owner, whom git runs as
}

// Open returns the repository at dir, or nil when dir is not in a git work tree.
func Open(dir string) (*Repo, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, err
	}
	r := &Repo{uid: -1, gid: -1}
	if uid, gid, ok := fileowner.Of(st); ok {
		r.uid, r.gid = uid, gid
	}
	if !inWorkTree(dir) {
		return nil, nil
	}
	top, err := r.git(dir, "rev-parse", "--show-toplevel")
	if err != nil {
		return nil, fmt.Errorf("looking for a git repository in %s (as its owner, uid %d): %w", dir, r.uid, err)
	}
	r.Root = top
	common, err := r.git(dir, "rev-parse", "--path-format=absolute", "--git-common-dir")
	if err != nil {
		return nil, err
	}
	r.CommonDir = common
	return r, nil
}

// inWorkTree reports whether dir or a directory above it has a .git (a directory, or the
// file of a worktree or submodule): where git would look for a repository.
func inWorkTree(dir string) bool {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return false
	}
	for {
		if _, err := os.Lstat(filepath.Join(abs, ".git")); err == nil {
			return true
		}
		parent := filepath.Dir(abs)
		if parent == abs {
			return false
		}
		abs = parent
	}
}

// Branch is agent's branch: magents/agent-N.
func Branch(agent string) string { return "magents/" + agent }

// MakeWorktreeDir makes agent's directory on the host at path, for its supervisor to
// clone into, owned by the agents' user uid:gid; an existing one, and the work in it, is
// left alone. A git worktree of the repository there (made by versions that let agents
// write the repository's git dir; the repository's own worktree list says so) is
// refused: the host would go on trusting what the agent wrote.
func (r *Repo) MakeWorktreeDir(path string, uid, gid int) error {
	if r.registeredWorktree(path) {
		return fmt.Errorf("%s is a git worktree of your repository, made by an earlier docker magents that let agents write its git dir: save its work (commit and merge it), remove it with git worktree remove --force %s, check the repository's .git/config and hooks for anything you did not put there, and run up again", path, path)
	}
	if st, err := os.Lstat(path); err == nil {
		if !st.IsDir() {
			return fmt.Errorf("%s is not a directory", path)
		}
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if err := os.Mkdir(path, 0o755); err != nil {
		return err
	}
	if os.Geteuid() == 0 {
		return os.Lchown(path, uid, gid)
	}
	if err := CheckWritable(path, uid, gid); err != nil {
		return errors.Join(fmt.Errorf("%w: run the agents as your own user (--user %d:%d) or run up as root", err, os.Geteuid(), os.Getegid()), os.Remove(path))
	}
	return nil
}

// registeredWorktree reports whether the repository lists path as one of its worktrees
// (read from its own git dir, never from what lies at path, which an agent writes).
func (r *Repo) registeredWorktree(path string) bool {
	entries, _ := os.ReadDir(filepath.Join(r.CommonDir, "worktrees"))
	for _, e := range entries {
		b, _, err := readRegular(filepath.Join(r.CommonDir, "worktrees", e.Name(), "gitdir"), maxGitdirRecord)
		if err == nil && filepath.Clean(strings.TrimSpace(string(b))) == filepath.Join(path, ".git") {
			return true
		}
	}
	return false
}

// Includes reads the include patterns: those given plus the repository's .magentsinclude.
func (r *Repo) Includes(given []string) ([]string, error) {
	out := append([]string{}, given...)
	b, _, err := readRegular(filepath.Join(r.Root, IncludeFile), maxIncludeList)
	if errors.Is(err, fs.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out, sc.Err()
}

// StageIncludes puts the untracked files that match the patterns into dir, afresh, for
// clone agents running as uid:gid to copy in (they see nothing else of the host's tree):
// readable by that user only.
func (r *Repo) StageIncludes(dir string, patterns []string, uid, gid int) error {
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := r.copyIncludes(dir, patterns); err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		if uid != os.Geteuid() {
			return fmt.Errorf("the agents run as uid %d, which could not read the included files staged by uid %d: run docker magents up as that user, or give --user %d:%d", uid, os.Geteuid(), os.Geteuid(), os.Getegid())
		}
		return nil
	}
	return filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, uid, gid)
	})
}

// copyIncludes copies untracked (including ignored) files matching the patterns from the
// main work tree into the new worktree, keeping their modes.
func (r *Repo) copyIncludes(dst string, patterns []string) error {
	if len(patterns) == 0 {
		return nil
	}
	args := []string{"ls-files", "--others", "-z", "--"}
	out, err := r.git(r.Root, append(args, patterns...)...)
	if err != nil {
		return err
	}
	for _, rel := range strings.Split(out, "\x00") {
		if rel == "" || strings.HasPrefix(rel, ".magents/") {
			continue
		}
		if err := InsideTree(r.Root, rel); err != nil {
			return err
		}
		if err := copyFile(filepath.Join(r.Root, rel), filepath.Join(dst, rel)); err != nil {
			return fmt.Errorf("carrying %s into the worktree: %w", rel, err)
		}
		if err := r.chown(filepath.Join(dst, rel)); err != nil {
			return err
		}
	}
	return nil
}

// InsideTree refuses an included file that is, or lies under, a symlink to somewhere
// outside the tree at root: carrying it would hand an agent a file of the host's.
func InsideTree(root, rel string) error {
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return err
	}
	real, err := filepath.EvalSymlinks(filepath.Join(root, rel))
	if err != nil {
		return fmt.Errorf("--include: %s: %w", rel, err)
	}
	if r, err := filepath.Rel(realRoot, real); err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return fmt.Errorf("--include: %s is a symlink to %s, outside the repository: it is not carried into the agents (remove the link, or the pattern that names it)", rel, real)
	}
	return nil
}

func copyFile(src, dst string) error {
	b, st, err := readRegular(src, maxIncludeFile)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, b, st.Mode().Perm())
}

// git runs git in dir as the repository's owner and returns its trimmed output.
func (r *Repo) git(dir string, args ...string) (string, error) {
	cmd := r.command(dir, args...)
	out, err := cmd.Output()
	if err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) && len(exit.Stderr) > 0 {
			return "", fmt.Errorf("git %s: %s", args[0], strings.TrimSpace(string(exit.Stderr)))
		}
		return "", fmt.Errorf("git %s: %w", args[0], err)
	}
	return strings.TrimRight(string(out), "\n"), nil
}

// command is git in dir as the repository's owner, with the owner's own git identity and
// settings (never root's), and no terminal prompt.
func (r *Repo) command(dir string, args ...string) *exec.Cmd {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0")
	if os.Geteuid() == 0 && r.uid > 0 {
		runAs(cmd, r.uid, r.gid)
		home := os.TempDir()
		if u, err := user.LookupId(strconv.Itoa(r.uid)); err == nil && u.HomeDir != "" {
			home = u.HomeDir
		}
		cmd.Env = append(cmd.Env, "HOME="+home)
	}
	return cmd
}

func (r *Repo) chown(path string) error {
	if os.Geteuid() == 0 && r.uid > 0 {
		return os.Chown(path, r.uid, r.gid)
	}
	return nil
}

// Diff is what agent's branch changed since it left base (the merge base with the
// current branch), as a patch.
func (r *Repo) Diff(agent string, stat bool) (string, error) {
	// The agent's commits are untrusted: no external diff or textconv program runs on them.
	args := []string{"diff", "--no-ext-diff", "--no-textconv"}
	if stat {
		args = append(args, "--stat")
	}
	return r.git(r.Root, append(args, "HEAD..."+Branch(agent))...)
}

// MergeOptions are what a merge is told besides the branch.
type MergeOptions struct {
	Into string // the branch to merge into, checked out first; "": the current one
	// AllowChange names trusted files (TrustedFiles) whose change by the branch the
	// developer has read and accepts.
	AllowChange []string
}

// Merge merges agent's branch into the checked-out branch (or opts.Into), fast-forward
// when it can, else with a merge commit. On a conflict it aborts, leaving both sides as
// they were.
func (r *Repo) Merge(agent string, opts MergeOptions) (string, error) {
	if opts.Into != "" {
		if _, err := r.git(r.Root, "checkout", "--quiet", opts.Into); err != nil {
			return "", err
		}
	}
	dirty, err := r.git(r.Root, "status", "--porcelain", "--untracked-files=no")
	if err != nil {
		return "", err
	}
	if dirty != "" {
		return "", errors.New("the host work tree has uncommitted changes: commit or stash them first")
	}
	// What the agent committed is untrusted: refuse what would reach outside the tree or
	// pick a program for git or the developer's tools to run, naming all of it.
	refused, err := r.mergeRefusals(agent, opts.AllowChange)
	if err != nil {
		return "", err
	}
	if len(refused) > 0 {
		return "", fmt.Errorf("%s %s: nothing was merged; look at it (docker magents diff %s)", Branch(agent), strings.Join(refused, "; and "), agent)
	}
	// No submodule the agent's commits name is fetched or checked out.
	out, err := r.git(r.Root, "-c", "submodule.recurse=false", "merge", "--no-edit", Branch(agent))
	if err != nil {
		if _, abortErr := r.git(r.Root, "merge", "--abort"); abortErr != nil {
			return "", fmt.Errorf("merging %s: %w\nand undoing it failed too (%v): see git status, and git merge --abort", Branch(agent), err, abortErr)
		}
		return "", fmt.Errorf("merging %s: %w\nNothing was changed: resolve it by hand (git merge %s) or rebase the agent's branch", Branch(agent), err, Branch(agent))
	}
	return out, nil
}

// WorktreeStatus is what an agent's worktree holds that exists nowhere else. Problem says
// why part of it could not be read (the agent broke its clone, say): such a worktree is
// never counted clean.
type WorktreeStatus struct {
	Agent    string
	Path     string
	Branch   string
	Exists   bool     // the worktree directory is there
	Changed  []string `json:"Changed,omitempty"`  // uncommitted changes, as git status --porcelain lists them
	Unmerged int      `json:"Unmerged,omitempty"` // commits on its branch that no other branch has
	Problem  string   `json:"Problem,omitempty"`  // why what it holds could not be read
}

// Clean reports whether removing the worktree and its branch loses nothing.
func (s WorktreeStatus) Clean() bool {
	return len(s.Changed) == 0 && s.Unmerged == 0 && s.Problem == ""
}

// Summary says, in a few words, what would be lost.
func (s WorktreeStatus) Summary() string {
	var parts []string
	if s.Problem != "" {
		parts = append(parts, "unreadable: "+s.Problem)
	}
	if n := len(s.Changed); n > 0 {
		parts = append(parts, Plural(n, "uncommitted change"))
	}
	if s.Unmerged > 0 {
		parts = append(parts, Plural(s.Unmerged, "unmerged commit")+" on "+s.Branch)
	}
	if len(parts) == 0 {
		return "clean"
	}
	return strings.Join(parts, ", ")
}

// Plural is "1 what" or "N whats".
func Plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

// Unmerged counts the commits on agent's branch that no other branch has (0 when there is
// no such branch).
func (r *Repo) Unmerged(agent string) (int, error) {
	ref := "refs/heads/" + Branch(agent)
	if _, err := r.git(r.Root, "rev-parse", "--verify", "--quiet", ref); err != nil {
		return 0, nil
	}
	out, err := r.git(r.Root, "rev-list", "--count", ref, "--not", "--exclude="+Branch(agent), "--branches")
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(out)
}

// DeleteBranch deletes agent's branch from the repository, if it has one.
func (r *Repo) DeleteBranch(agent string) error {
	if _, err := r.git(r.Root, "rev-parse", "--verify", "--quiet", "refs/heads/"+Branch(agent)); err != nil {
		return nil
	}
	_, err := r.git(r.Root, "branch", "-D", Branch(agent))
	return err
}

// AgentBranches lists the agents that have a magents/agent-N branch.
func (r *Repo) AgentBranches() ([]string, error) {
	out, err := r.git(r.Root, "for-each-ref", "--format=%(refname:lstrip=3)", "refs/heads/magents/")
	if err != nil || out == "" {
		return nil, err
	}
	return strings.Split(out, "\n"), nil
}

// CheckWritable reports an error when uid:gid may not create files in dir, judged by the
// directory's owner, group and mode bits as the kernel would for a process with no
// supplementary groups.
func CheckWritable(dir string, uid, gid int) error {
	return checkAccess(dir, uid, gid, 0o3, "write")
}

// CheckReadable reports an error when uid:gid may not read the git dir (its top and its
// object store), judged the same way: a checkout whose .git is 0700 and not the agents'.
func CheckReadable(gitDir string, uid, gid int) error {
	for _, d := range []string{gitDir, filepath.Join(gitDir, "objects")} {
		if err := checkAccess(d, uid, gid, 0o5, "read"); err != nil {
			return err
		}
	}
	return nil
}

// checkAccess checks the permission bits want (0o3: write and search, 0o5: read and
// search) of the class — owner, group or other — that uid:gid falls in for dir.
func checkAccess(dir string, uid, gid int, want os.FileMode, what string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return err
	}
	ownerUID, ownerGID, ok := fileowner.Of(st)
	if !ok || uid == 0 {
		return nil
	}
	mode := st.Mode().Perm()
	shift := 0 // other
	switch {
	case ownerUID == uid:
		shift = 6
	case ownerGID == gid:
		shift = 3
	}
	if mode>>shift&want == want {
		return nil
	}
	return fmt.Errorf("the agents run as %d:%d and cannot %s %s (owned by %d:%d, mode %04o)", uid, gid, what, dir, ownerUID, ownerGID, mode)
}

// WriteSeed writes a bundle of every ref of the repository to path, readable by uid:gid
// alone: what agents that cannot read the git dir clone from.
func (r *Repo) WriteSeed(path string, uid, gid int) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".seed-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	var stderr strings.Builder
	// As the owner, into the file this process opened.
	cmd := r.command(r.Root, "bundle", "create", "--quiet", "-", "--all")
	cmd.Stdout, cmd.Stderr = tmp, &stderr
	err = cmd.Run()
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("bundling the repository for agents that cannot read its git dir: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	if err := os.Chmod(tmp.Name(), 0o400); err != nil {
		return err
	}
	if os.Geteuid() == 0 {
		if err := os.Lchown(tmp.Name(), uid, gid); err != nil {
			return err
		}
	}
	return os.Rename(tmp.Name(), path)
}

// FetchBundle sets branch to what it is in the git bundle at path (an agent's clone).
func (r *Repo) FetchBundle(path, branch string) error {
	ref := "refs/heads/" + branch
	// What an agent sends is untrusted: every object is checked as it comes in.
	if _, err := r.git(r.Root, "-c", "transfer.fsckObjects=true", "fetch", "--quiet", "--no-tags", path, "+"+ref+":"+ref); err != nil {
		return fmt.Errorf("fetching %s from the agent's clone: %w", branch, err)
	}
	return nil
}

// RemoteURL is the URL of the repository's remote name.
func (r *Repo) RemoteURL(name string) (string, error) {
	u, err := r.git(r.Root, "remote", "get-url", "--push", "--", name)
	if err != nil {
		return "", fmt.Errorf("your repository has no remote %q: %w", name, err)
	}
	return u, nil
}

// RelayedRemotes are the remotes of the repository the fleet's git relay serves its agents:
// its remotes' https (or http) URLs, fetch and push, that the git-credentials file
// credentials has a line for (the same scheme and host), each once.
func (r *Repo) RelayedRemotes(credentials []byte) ([]string, error) {
	out, err := r.git(r.Root, "config", "--get-regexp", `^remote\..*\.(url|pushurl)$`)
	if err != nil {
		return nil, nil // git config's exit 1: no remote
	}
	hosts := map[string]bool{}
	for _, line := range strings.Split(string(credentials), "\n") {
		if u, err := url.Parse(strings.TrimSpace(line)); err == nil && u.Host != "" {
			hosts[u.Scheme+"://"+strings.ToLower(u.Host)] = true
		}
	}
	var remotes []string
	for _, line := range strings.Split(out, "\n") {
		_, value, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok {
			continue
		}
		key, ok := gitrelay.Key(value)
		if !ok {
			continue
		}
		remote := gitrelay.Upstream(key)
		if u, err := url.Parse(remote); err == nil && hosts[u.Scheme+"://"+u.Host] && !slices.Contains(remotes, remote) {
			remotes = append(remotes, remote)
		}
	}
	slices.Sort(remotes)
	return remotes, nil
}

// Push pushes branch, one docker magents made (magents/…), to remote's branch of the same
// name, never forced, with the git credentials of the file credentials (git's store
// format) and no other credential helper: a copy of the file, private to this push, so
// git's store helper rewrites nothing of the user's. It returns git's report.
func (r *Repo) Push(remote, branch, credentials string) (string, error) {
	if !strings.HasPrefix(branch, "magents/") {
		return "", fmt.Errorf("%s is not a branch docker magents made: only magents/… branches are pushed", branch)
	}
	b, err := os.ReadFile(credentials)
	if err != nil {
		return "", fmt.Errorf("reading the fleet's git credentials: %w", err)
	}
	dir, err := os.MkdirTemp("", "magents-push-*")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	store := filepath.Join(dir, "git-credentials")
	if err := os.WriteFile(store, b, 0o600); err != nil {
		return "", err
	}
	if os.Geteuid() == 0 && r.uid > 0 {
		// git runs as the repository's owner: the copy is theirs to read, no one else's.
		for _, p := range []string{dir, store} {
			if err := os.Chown(p, r.uid, r.gid); err != nil {
				return "", err
			}
		}
	}
	ref := "refs/heads/" + branch
	out, err := r.git(r.Root, "-c", "credential.helper=", "-c", "credential.helper=store --file="+shellQuote(store),
		"push", "--porcelain", "--no-verify", remote, ref+":"+ref)
	if err != nil {
		msg := err.Error()
		if strings.Contains(msg, "Authentication failed") || strings.Contains(msg, "403") || strings.Contains(msg, "401") {
			return "", fmt.Errorf("%s refused the fleet's git credentials; nothing was pushed (change them with docker magents up --git-credentials FILE): %w", remote, err)
		}
		return "", fmt.Errorf("pushing %s to %s; nothing was pushed: %w", branch, remote, err)
	}
	return out, nil
}

// shellQuote quotes s for the shell git runs a credential helper's command line with.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// HasCommit reports whether the repository has the commit sha.
func (r *Repo) HasCommit(sha string) bool {
	_, err := r.git(r.Root, "cat-file", "-e", sha+"^{commit}")
	return err == nil
}
