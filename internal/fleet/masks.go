package fleet

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/docker-magents/docker-magents/images/supervisor/agentstate"
)

// Mask is one of the fleet's own files or directories, inside a host directory that is
// mounted into agents, which they must neither see nor change: the fleet's definition
// (compose file, env files, state dir with its secrets, lock and other agents' work) and
// every file docker magents reads again later. An agent may run as the developer's own
// UID, so read-only is not enough: each is hidden behind an empty mount.
type Mask struct {
	Rel string // relative to the mounted directory, slash-separated
	Dir bool
}

// ComposeDotEnv is compose's own .env, which it reads from the project directory.
const ComposeDotEnv = ".env"

// trusted are the host paths docker magents trusts: it reads them again, or compose does.
func (f *Fleet) trusted() []string {
	paths := []string{
		f.ComposeFile, f.StateDir(), f.Abs(f.EnvFile), filepath.Join(f.Dir(), ComposeDotEnv),
		filepath.Join(f.Abs(f.Workspace), IncludeFile),
	}
	for _, p := range append([]string{f.Config.ClaudeMD, f.Config.Settings, f.Config.MCP, f.Config.Commands, f.Config.GitCredentials}, f.CredentialFiles...) {
		if p != "" {
			paths = append(paths, f.Abs(p))
		}
	}
	return append(paths, f.HostTrusted...)
}

// IncludeFile lists untracked files (gitignore-style patterns, one per line) to carry into
// every agent's worktree or clone, like .worktreeinclude.
const IncludeFile = ".magentsinclude"

// MaskFile is the empty, read-only file that hides each masked file (a device such as
// /dev/null would take writes, read-only mount or not). Every command that renders the
// fleet holds its lock, which makes it (LockFor).
func (f *Fleet) MaskFile() string { return filepath.Join(f.StateDir(), maskFileName) }

const maskFileName = "masked"

// MaskFileRel is MaskFile as the compose file writes it.
const MaskFileRel = "./" + StateDirName + "/" + maskFileName

// Masks are the trusted paths that lie inside dir, a host directory mounted into agents,
// and exist (a mount point that does not exist would be created in dir by the engine) or
// are made before the agents start: the compose file and the state dir.
func (f *Fleet) Masks(dir string) []Mask {
	var out []Mask
	for _, p := range f.trusted() {
		rel, err := filepath.Rel(dir, p)
		if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			continue
		}
		isDir := p == f.StateDir()
		if st, err := os.Stat(p); err == nil {
			isDir = st.IsDir()
		} else if p != f.ComposeFile && p != f.StateDir() {
			continue
		}
		m := Mask{Rel: filepath.ToSlash(rel), Dir: isDir}
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	// A directory masks what lies in it; the engine mounts parents first.
	slices.SortFunc(out, func(a, b Mask) int { return strings.Compare(a.Rel, b.Rel) })
	return out
}

// IncludeMountPath is where a clone agent finds the included untracked files the host
// staged for it (IncludeStage), read-only.
const IncludeMountPath = "/magents/include"

// IncludeStage is where up stages the included files of a clone fleet: in the state dir,
// owned by the agents' user.
func (f *Fleet) IncludeStage() string { return filepath.Join(f.StateDir(), "include") }

// IncludeStageRel is IncludeStage as the compose file writes it.
const IncludeStageRel = "./" + StateDirName + "/include"

// OriginGitDir is the git dir a clone agent clones from: the repository's common git dir
// (files written before it was saved: the workspace's .git).
func (f *Fleet) OriginGitDir() string {
	if f.GitDir != "" {
		return f.GitDir
	}
	return filepath.Join(f.Abs(f.Workspace), ".git")
}

// SeedDir holds the bundle a clone agent clones from when its user cannot read the
// repository's git dir (CloneSeed); SeedMountPath is where agents see it, read-only.
func (f *Fleet) SeedDir() string { return filepath.Join(f.StateDir(), "seed") }

// SeedRel is SeedDir as the compose file writes it.
const SeedRel = "./" + StateDirName + "/seed"

const (
	SeedMountPath = "/magents/seed"
	SeedBundle    = "repo.bundle"
)

// EgressSocketsDir holds a directory per agent (named after its service) where the egress
// proxy listens on a unix socket for that agent alone: with egress allowlist, agents have
// no network, and that socket is their only way out. Owned by the agents' user, who runs
// the proxy too.
func (f *Fleet) EgressSocketsDir() string { return filepath.Join(f.StateDir(), "egress") }

// EgressSocketsRel is EgressSocketsDir as the compose file writes it.
const EgressSocketsRel = "./" + StateDirName + "/egress"

// EgressSocketMount is where an agent finds its socket directory, and the proxy all of
// them; EgressSocketName is the socket in it.
const (
	EgressSocketMount = "/run/magents-egress"
	EgressSocketName  = agentstate.EgressSocketName
)

// MakeEgressSocketDirs makes, for an allowlist fleet, each agent's socket directory,
// where the egress proxy (running as the agents' user) listens for that agent alone.
func (f *Fleet) MakeEgressSocketDirs() error {
	if f.Egress != EgressAllowlist {
		return nil
	}
	uid, gid, err := ParseUser(f.User)
	if err != nil {
		return err
	}
	dirs := []string{f.EgressSocketsDir()}
	for _, name := range f.AgentNames() {
		dirs = append(dirs, filepath.Join(f.EgressSocketsDir(), name))
	}
	if f.Dev {
		dirs = append(dirs, filepath.Join(f.EgressSocketsDir(), DevService))
	}
	for _, d := range dirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
		switch {
		case os.Geteuid() == 0:
			err = os.Lchown(d, uid, gid)
		case os.Geteuid() != uid:
			// Not ours to give: let the agents' user listen and connect there.
			err = os.Chmod(d, 0o777)
		}
		if err != nil {
			return fmt.Errorf("preparing the egress proxy's socket directory %s: %w", d, err)
		}
	}
	return nil
}
