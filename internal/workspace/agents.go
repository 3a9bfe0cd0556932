package workspace

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/docker-magents/docker-magents/internal/fleet"
)

// CheckAgentsCanWrite refuses a shared workspace the agents' user cannot write in (a
// root-owned checkout, say): they would fail at their first edit. Worktree and clone
// agents write only their own clones.
func CheckAgentsCanWrite(f *fleet.Fleet, ws string) error {
	uid, gid, err := fleet.ParseUser(f.User)
	if err != nil {
		return err
	}
	var dirs []string
	if f.Isolation == Shared {
		dirs = []string{ws}
	}
	for _, d := range dirs {
		if err := CheckWritable(d, uid, gid); err != nil {
			return fmt.Errorf("%w: run them as a user who can, with --user UID:GID (agents never run as root), or give that user the directory (chown -R UID:GID %s)", err, d)
		}
	}
	return nil
}

// SetIsolation sets how the fleet's agents share the workspace ws: as given (want), or —
// for a new choice (choose) or none yet — the safest that works; and with it the git dir
// the agents read and whether they can read it (else they clone from a seed).
func SetIsolation(f *fleet.Fleet, ws, want string, choose bool) error {
	repo, err := Open(ws)
	if err != nil {
		return err
	}
	switch {
	case want != "":
		f.Isolation = want
	case choose || f.Isolation == "":
		// The safest isolation that works: a private clone of a repository, at its top or
		// below it (the agents clone the whole and work in the same directory), which
		// agents only read (a worktree shares the git dir, which host git trusts); outside
		// one, the directory itself — shared only where there is no repository to clone.
		f.Isolation = Shared
		if repo != nil {
			f.Isolation = Clone
		}
	}
	f.Subdir = ""
	defer func() {
		// Agents that cannot read the git dir clone from a bundle up makes (PrepareAgents).
		f.CloneSeed = false
		if f.GitDir != "" && f.Isolation != Shared {
			if uid, gid, err := fleet.ParseUser(f.User); err == nil {
				f.CloneSeed = CheckReadable(f.GitDir, uid, gid) != nil
			}
		}
	}()
	switch f.Isolation {
	case Shared:
		if err := refuseSharedHome(ws); err != nil {
			return err
		}
		f.GitDir = ""
	case Worktree:
		if repo == nil {
			return fmt.Errorf("--isolation worktree needs a git repository, and %s is not in one: use --isolation shared, or git init it", ws)
		}
		f.GitDir = repo.CommonDir
	case Clone:
		if repo == nil {
			return fmt.Errorf("--isolation clone needs a git repository, and %s is not in one: use --isolation shared, or git init it", ws)
		}
		if repo.Root != ws {
			// The whole repository is cloned; the agents work in this directory of it.
			rel, err := filepath.Rel(repo.Root, ws)
			if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
				return fmt.Errorf("the workspace %s is not inside its repository %s", ws, repo.Root)
			}
			f.Subdir = filepath.ToSlash(rel)
		}
		f.GitDir = repo.CommonDir // all a clone agent sees of the repository, read-only
	default:
		return fmt.Errorf(`invalid --isolation %q: use "worktree", "clone" or "shared"`, f.Isolation)
	}
	return nil
}

// refuseSharedHome refuses a shared workspace that is the root, the developer's home
// directory or a directory above it: the agents would write the developer's shell
// startup files, SSH and git config, every other project.
func refuseSharedHome(ws string) error {
	clean := filepath.Clean(ws)
	if clean == string(filepath.Separator) || filepath.Dir(clean) == clean {
		return fmt.Errorf("%s is the file system's root: agents never share it (give --workspace a project's directory)", ws)
	}
	home, err := os.UserHomeDir()
	if err != nil || home == "" {
		return nil
	}
	home = filepath.Clean(home)
	if rel, err := filepath.Rel(clean, home); err == nil && (rel == "." || rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))) {
		return fmt.Errorf("%s is your home directory or holds it: agents never share it with --isolation shared (they would write your shell's startup files, SSH and git config and every other project); give --workspace a project's directory", ws)
	}
	return nil
}

// PrepareAgents stages the included files the agents of a clone or worktree fleet copy
// into their clones (and the seed, for agents that cannot read the git dir), and gives
// each worktree agent its directory on the host (new ones only; existing ones and the
// work in them are left alone), where its supervisor clones. It says what it did on w.
func PrepareAgents(f *fleet.Fleet, w io.Writer) error {
	if f.Isolation == Shared {
		fmt.Fprintf(w, "Isolation shared: the agents write %s itself; whatever you later run there (a build, your editor's tasks, git) runs their code\n", f.Abs(f.Workspace))
		// What runs code when the tree is opened, changed since the last up: said before
		// it is recorded anew (doctor says it between two ups).
		if changes, err := OpenedChanges(f); err == nil && len(changes) > 0 {
			fmt.Fprintf(w, "WARNING: since the last up, files that run code when you open %s changed — read them before your shell, git or editor does:\n  %s\n",
				f.Abs(f.Workspace), strings.Join(changes, "\n  "))
		}
		if err := RecordOpened(f); err != nil {
			return fmt.Errorf("recording what runs code when the workspace is opened: %w", err)
		}
	}
	if f.Isolation != Worktree && f.Isolation != Clone {
		return nil
	}
	repo, err := Open(f.Abs(f.Workspace))
	if err != nil || repo == nil {
		return fmt.Errorf("opening the workspace's git repository: %v", err)
	}
	includes, err := repo.Includes(f.Includes)
	if err != nil {
		return err
	}
	uid, gid, err := fleet.ParseUser(f.User)
	if err != nil {
		return err
	}
	if err := repo.StageIncludes(f.IncludeStage(), includes, uid, gid); err != nil {
		return err
	}
	if f.CloneSeed {
		if err := repo.WriteSeed(filepath.Join(f.SeedDir(), fleet.SeedBundle), uid, gid); err != nil {
			return err
		}
		fmt.Fprintf(w, "The agents' user (%s) cannot read %s: they clone from a bundle of it, %s\n", f.User, f.GitDir, filepath.Join(fleet.StateDirName, "seed", fleet.SeedBundle))
	}
	if f.Isolation == Clone {
		return nil
	}
	for _, agent := range f.AgentNames() {
		if err := repo.MakeWorktreeDir(f.WorktreeDir(agent), uid, gid); err != nil {
			return fmt.Errorf("%s: %w", agent, err)
		}
	}
	fmt.Fprintf(w, "Worktrees: %s (branches magents/agent-1…%d)\n", filepath.Join(fleet.StateDirName, "worktrees"), f.Agents)
	return nil
}
