package main

import (
	"errors"
	"fmt"
	"github.com/docker-magents/docker-magents/images/supervisor/agentenv"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// prepareClone makes the agent's private clone (isolation clone): the host repository's
// git dir, mounted read-only at MAGENTS_CLONE_FROM (the agent sees nothing of the host's
// work tree), is cloned into the workspace (the agent's own volume) on branch
// MAGENTS_CLONE_BRANCH, from MAGENTS_CLONE_BASE or the origin's HEAD, and the untracked
// files the host staged in MAGENTS_CLONE_INCLUDE_DIR (those --include and .magentsinclude
// name) are copied in. An existing clone, and the work in it, is left alone.
func prepareClone(cfg config, getenv func(string) string) error {
	origin := getenv(agentenv.CloneFrom)
	if origin == "" {
		return nil
	}
	ws := cfg.Workspace
	branch := getenv(agentenv.CloneBranch)
	if branch == "" {
		return errors.New("MAGENTS_CLONE_BRANCH is not set")
	}
	if _, err := os.Stat(filepath.Join(ws, ".git")); err == nil {
		if git(ws, "rev-parse", "--verify", "--quiet", "refs/heads/"+branch) == nil {
			return nil // made before: leave it and the work in it alone
		}
		// Cloned, but its branch never made (a start that failed half-way): make it now.
	} else if err := git("", cloneArgs(origin, ws)...); err != nil {
		return fmt.Errorf("cloning %s into %s: %w", origin, ws, err)
	}
	start := "HEAD"
	if base := getenv(agentenv.CloneBase); base != "" {
		start = base
		if git(ws, "rev-parse", "--verify", "--quiet", base+"^{commit}") != nil {
			start = "origin/" + base
		}
	}
	if err := git(ws, "checkout", "--quiet", "-b", branch, start); err != nil {
		return fmt.Errorf("starting branch %s from %s: %w", branch, start, err)
	}
	return copyStaged(getenv(agentenv.CloneIncludeDir), ws)
}

// cloneArgs clones a git dir --shared: the origin's objects, read-only, are the clone's
// alternate object store — seconds for any history, and new objects go to the clone's own
// store. A bundle (the host's seed, for agents that cannot read its git dir) is copied.
func cloneArgs(origin, ws string) []string {
	if st, err := os.Stat(origin); err == nil && st.Mode().IsRegular() {
		return []string{"clone", "--quiet", origin, ws}
	}
	return []string{"clone", "--quiet", "--shared", origin, ws}
}

// copyStaged copies the tree the host staged at dir (read-only in the agent) into ws,
// keeping modes; nothing when there is none.
func copyStaged(dir, ws string) error {
	if dir == "" {
		return nil
	}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		dst := filepath.Join(ws, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(dst, 0o755)
		case !d.Type().IsRegular():
			return nil // the host stages regular files only
		}
		st, err := d.Info()
		if err != nil {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return unreadable(path, err)
		}
		return os.WriteFile(dst, b, st.Mode().Perm())
	})
}

// git runs git in dir (the current directory when empty) and returns its error output.
func git(dir string, args ...string) error {
	name := args[0]
	if dir != "" {
		args = append([]string{"-C", dir}, args...)
	}
	cmd := exec.Command("git", args...)
	cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("git %s: %v: %s", name, err, strings.TrimSpace(string(out)))
	}
	return nil
}
