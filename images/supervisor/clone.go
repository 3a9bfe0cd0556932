package main

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// prepareClone makes the agent's private clone (isolation clone): the host repository,
// mounted read-only at MAGENTS_CLONE_FROM, is cloned into the workspace (the agent's own
// volume) on branch MAGENTS_CLONE_BRANCH, from MAGENTS_CLONE_BASE or the origin's HEAD,
// and the untracked files that MAGENTS_CLONE_INCLUDE and the origin's .magentsinclude
// name are copied in. An existing clone, and the work in it, is left alone.
func prepareClone(cfg config, getenv func(string) string) error {
	origin := getenv("MAGENTS_CLONE_FROM")
	if origin == "" {
		return nil
	}
	ws := cfg.Workspace
	branch := getenv("MAGENTS_CLONE_BRANCH")
	if branch == "" {
		return errors.New("MAGENTS_CLONE_BRANCH is not set")
	}
	if _, err := os.Stat(filepath.Join(ws, ".git")); err == nil {
		if git(ws, "rev-parse", "--verify", "--quiet", "refs/heads/"+branch) == nil {
			return nil // made before: leave it and the work in it alone
		}
		// Cloned, but its branch never made (a start that failed half-way): make it now.
	} else if err := git("", "clone", "--quiet", "--shared", origin, ws); err != nil {
		// --shared: the origin's objects, read-only, are the clone's alternate object store:
		// seconds for any history, and new objects go to the clone's own store.
		return fmt.Errorf("cloning %s into %s: %w", origin, ws, err)
	}
	start := "HEAD"
	if base := getenv("MAGENTS_CLONE_BASE"); base != "" {
		start = base
		if git(ws, "rev-parse", "--verify", "--quiet", base+"^{commit}") != nil {
			start = "origin/" + base
		}
	}
	if err := git(ws, "checkout", "--quiet", "-b", branch, start); err != nil {
		return fmt.Errorf("starting branch %s from %s: %w", branch, start, err)
	}
	return copyCloneIncludes(origin, ws, getenv("MAGENTS_CLONE_INCLUDE"))
}

func copyCloneIncludes(origin, ws, given string) error {
	var patterns []string
	for _, p := range strings.Split(given, "\n") {
		if p = strings.TrimSpace(p); p != "" {
			patterns = append(patterns, p)
		}
	}
	if f, err := os.Open(filepath.Join(origin, ".magentsinclude")); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if line := strings.TrimSpace(sc.Text()); line != "" && !strings.HasPrefix(line, "#") {
				patterns = append(patterns, line)
			}
		}
		f.Close()
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if len(patterns) == 0 {
		return nil
	}
	cmd := exec.Command("git", append([]string{"-C", origin, "ls-files", "--others", "-z", "--"}, patterns...)...)
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("listing the files to carry over: %w", err)
	}
	for _, rel := range strings.Split(string(out), "\x00") {
		if rel == "" || strings.HasPrefix(rel, ".magents/") {
			continue
		}
		src, dst := filepath.Join(origin, rel), filepath.Join(ws, rel)
		st, err := os.Stat(src)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(src)
		if err != nil {
			return unreadable(src, err)
		}
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(dst, b, st.Mode().Perm()); err != nil {
			return err
		}
	}
	return nil
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
