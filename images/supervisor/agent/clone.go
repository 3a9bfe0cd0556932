package agent

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/docker-magents/docker-magents/images/supervisor/agentenv"
	"github.com/docker-magents/docker-magents/images/supervisor/gitcmd"
)

// prepareClone makes the agent's private clone (isolation clone): the host repository's
// git dir, mounted read-only at MAGENTS_CLONE_FROM (the agent sees nothing of the host's
// work tree), is cloned into the workspace (the agent's own volume) on branch
// MAGENTS_CLONE_BRANCH, from MAGENTS_CLONE_BASE or the origin's HEAD, and the untracked
// files the host staged in MAGENTS_CLONE_INCLUDE_DIR (those --include and .magentsinclude
// name) are copied in. An existing clone, and the work in it, is left alone.
func prepareClone(cfg Config, getenv func(string) string) error {
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
		if gitcmd.Run(ws, "rev-parse", "--verify", "--quiet", "refs/heads/"+branch) == nil {
			return nil // made before: leave it and the work in it alone
		}
		// Cloned, but its branch never made (a start that failed half-way): make it now.
	} else if err := gitcmd.Run("", cloneArgs(origin, ws)...); err != nil {
		return fmt.Errorf("cloning %s into %s: %w", origin, ws, err)
	}
	start := "HEAD"
	if base := getenv(agentenv.CloneBase); base != "" {
		start = base
		if gitcmd.Run(ws, "rev-parse", "--verify", "--quiet", base+"^{commit}") != nil {
			start = "origin/" + base
		}
	}
	if err := gitcmd.Run(ws, "checkout", "--quiet", "-b", branch, start); err != nil {
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
