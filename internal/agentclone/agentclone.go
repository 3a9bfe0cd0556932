// Package agentclone reaches an agent's private clone (clone or worktree isolation) the
// only way the host may: through the agent's container, or a throwaway one with no
// network — never git on the host in a repository an agent wrote. Its branch comes to the
// host repository as a bundle.
package agentclone

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/docker/cli/cli/command"

	mobyclient "github.com/moby/moby/client"

	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/fleetstatus"
	"github.com/docker-magents/docker-magents/internal/shellout"
	"github.com/docker-magents/docker-magents/internal/termsafe"
	"github.com/docker-magents/docker-magents/internal/workspace"
)

// Git runs git in agent's private clone (isolation clone or worktree): in the agent's
// container when it runs, else in a throwaway container of the fleet's image, with no
// network, on the agent's volume or directory. Never on the host: the clone and its config
// are the agent's. It returns git's standard output.
func Git(ctx context.Context, dockerCli command.Cli, f *fleet.Fleet, agent string, args ...string) ([]byte, error) {
	var stdout bytes.Buffer
	// What git prints of an agent's clone is bounded: a listing, a status.
	if err := gitTo(ctx, dockerCli, f, agent, gitTimeout, &limitWriter{w: &stdout, limit: maxGitOutput}, args...); err != nil {
		return nil, err
	}
	return stdout.Bytes(), nil
}

// Bounds on what the host takes from an agent's clone: git's answers within gitTimeout,
// and a branch's bundle (written to a file as it comes, never held in memory) within
// bundleTimeout. A clone the agent made to hang git (a FIFO where git reads) costs a
// command that long, never forever.
const (
	maxGitOutput  = 64 << 20
	maxBundle     = 2 << 30
	gitTimeout    = 2 * time.Minute
	bundleTimeout = 10 * time.Minute
)

// limitWriter writes to w until limit bytes have been written, then fails (and the
// command writing to it with it).
type limitWriter struct {
	w     io.Writer
	limit int64
	n     int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.n+int64(len(p)) > l.limit {
		return 0, fmt.Errorf("the agent's clone gave more than %d MiB", l.limit>>20)
	}
	l.n += int64(len(p))
	return l.w.Write(p)
}

// gitTo is Git with git's output written to stdout as it comes.
func gitTo(ctx context.Context, dockerCli command.Cli, f *fleet.Fleet, agent string, timeout time.Duration, stdout io.Writer, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	docker := shellout.New(dockerCli)
	gitArgs := append([]string{"git", "-C", fleet.WorkspaceDir}, args...)
	var cmdArgs []string
	insp, err := dockerCli.Client().ContainerInspect(ctx, f.ContainerName(agent), mobyclient.ContainerInspectOptions{})
	if err == nil && insp.Container.State != nil && insp.Container.State.Running {
		cmdArgs = append([]string{"exec", f.ContainerName(agent)}, gitArgs...)
	} else {
		volume := f.Project + "_" + fleet.CloneVolume(agent)
		if f.Isolation == workspace.Worktree {
			volume = f.WorktreeDir(agent)
			if _, err := os.Lstat(filepath.Join(volume, ".git")); err != nil {
				return fmt.Errorf("%s has no clone in %s: %w", agent, fleet.WorktreeRel(agent), err)
			}
		} else if _, err := dockerCli.Client().VolumeInspect(ctx, volume, mobyclient.VolumeInspectOptions{}); err != nil {
			return fmt.Errorf("%s has no clone (volume %s): %w", agent, volume, err)
		}
		// With its origin, read-only: the clone's alternate object store.
		origin := f.OriginGitDir() + ":" + fleet.OriginMountPath + ":ro"
		if f.CloneSeed {
			origin = f.SeedDir() + ":" + fleet.SeedMountPath + ":ro"
		}
		cmdArgs = append([]string{"run", "--rm", "--network", "none", "--user", f.User, "--entrypoint", "git",
			"-v", volume + ":" + fleet.WorkspaceDir, "-v", origin, f.Image}, gitArgs[1:]...)
	}
	stderr := &limitWriter{w: &bytes.Buffer{}, limit: 1 << 20}
	cmd := docker.Command(ctx, cmdArgs...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, stdout, stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			err = fmt.Errorf("no answer within %s", timeout)
		}
		return fmt.Errorf("git %s in %s's clone: %v: %s", args[0], agent, err, strings.TrimSpace(stderr.w.(*bytes.Buffer).String()))
	}
	return nil
}

// Fetch brings agent's branch from its clone into the host repository (the branch
// magents/agent-N there), through a git bundle, so diff and merge work as for worktrees.
func Fetch(ctx context.Context, dockerCli command.Cli, f *fleet.Fleet, repo *workspace.Repo, agent string) error {
	return FetchBranch(ctx, dockerCli, f, repo, agent, workspace.Branch(agent))
}

// FetchBranch is Fetch for another of the agent's magents/ branches (a queued task's,
// magents/task-N), into the same name in the host repository.
func FetchBranch(ctx context.Context, dockerCli command.Cli, f *fleet.Fleet, repo *workspace.Repo, agent, branch string) error {
	if !strings.HasPrefix(branch, "magents/") {
		return fmt.Errorf("%s is not a branch docker magents made (magents/…)", branch)
	}
	tmp, err := os.CreateTemp("", "magents-"+agent+"-*.bundle")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	// Streamed to the file as git writes it, within a bound.
	err = gitTo(ctx, dockerCli, f, agent, bundleTimeout, &limitWriter{w: tmp, limit: maxBundle}, "bundle", "create", "--quiet", "-", "refs/heads/"+branch)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	// git runs as the repository's owner: let it read the bundle.
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return repo.FetchBundle(tmp.Name(), branch)
}

// Work says what agent's clone holds that the host repository does not: uncommitted
// changes and branches with commits the host lacks. Empty when nothing would be lost.
func Work(ctx context.Context, dockerCli command.Cli, f *fleet.Fleet, repo *workspace.Repo, agent string) (string, error) {
	status, err := Git(ctx, dockerCli, f, agent, "status", "--porcelain")
	if err != nil {
		return "", err
	}
	var parts []string
	if lines := strings.Count(strings.TrimSpace(string(status)), "\n") + 1; len(bytes.TrimSpace(status)) > 0 {
		parts = append(parts, workspace.Plural(lines, "uncommitted change"))
	}
	refs, err := Git(ctx, dockerCli, f, agent, "for-each-ref", "--format=%(objectname) %(refname:short)", "refs/heads")
	if err != nil {
		return "", err
	}
	for _, line := range strings.Split(strings.TrimSpace(string(refs)), "\n") {
		sha, name, ok := strings.Cut(line, " ")
		if ok && !repo.HasCommit(sha) {
			parts = append(parts, "commits on "+name+" the host does not have")
		}
	}
	return strings.Join(parts, ", "), nil
}

// Statuses lists every agent that has a worktree or a magents/agent-N branch,
// including agents removed by a scale-down, in agent order.
func Statuses(ctx context.Context, dockerCli command.Cli, f *fleet.Fleet, repo *workspace.Repo) ([]workspace.WorktreeStatus, error) {
	seen := map[string]bool{}
	entries, err := os.ReadDir(f.WorktreeDir(""))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	for _, e := range entries {
		if _, err := fleet.AgentNumber(e.Name()); err == nil && e.IsDir() {
			seen[e.Name()] = true
		}
	}
	branches, err := repo.AgentBranches()
	if err != nil {
		return nil, err
	}
	for _, a := range branches {
		if _, err := fleet.AgentNumber(a); err == nil {
			seen[a] = true
		}
	}
	var agents []string
	for a := range seen {
		agents = append(agents, a)
	}
	slices.SortFunc(agents, func(a, b string) int { return fleetstatus.Order(a) - fleetstatus.Order(b) })
	out := make([]workspace.WorktreeStatus, 0, len(agents))
	for _, a := range agents {
		s, err := Status(ctx, dockerCli, f, repo, a)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// Status is what agent's worktree holds that exists nowhere else: its uncommitted
// changes (git run in the agent's container, or a throwaway one: never on the host, where
// the clone's config would be trusted), and the commits on its branch, fetched into the
// host repository through a bundle, that no other branch has.
func Status(ctx context.Context, dockerCli command.Cli, f *fleet.Fleet, repo *workspace.Repo, agent string) (workspace.WorktreeStatus, error) {
	s := workspace.WorktreeStatus{Agent: agent, Path: f.WorktreeDir(agent), Branch: workspace.Branch(agent)}
	if st, err := os.Lstat(s.Path); err == nil && st.IsDir() {
		s.Exists = true
		if _, err := os.Lstat(filepath.Join(s.Path, ".git")); err == nil {
			// The clone is the agent's: when it cannot be read (the agent broke it), say so
			// for this agent rather than fail the whole list.
			out, err := Git(ctx, dockerCli, f, agent, "status", "--porcelain")
			if err == nil {
				err = Fetch(ctx, dockerCli, f, repo, agent)
			}
			if err != nil {
				s.Problem, _, _ = strings.Cut(err.Error(), "\n") // its first line
			}
			if lines := strings.TrimSpace(string(out)); lines != "" {
				s.Changed = strings.Split(lines, "\n")
			}
			termsafe.Value(&s) // the agent's file names and git's words about its clone
		}
	}
	n, err := repo.Unmerged(agent)
	s.Unmerged = n
	return s, err
}

// Remove deletes agent's directory and its branch in the host repository. The
// files are the agents' user's: when the host user may not delete them, a throwaway
// container as that user does.
func Remove(ctx context.Context, dockerCli command.Cli, f *fleet.Fleet, repo *workspace.Repo, agent string) error {
	dir := f.WorktreeDir(agent)
	if err := os.RemoveAll(dir); err != nil {
		cmd := shellout.New(dockerCli).Command(ctx, "run", "--rm", "--network", "none", "--user", f.User, "--entrypoint", "find",
			"-v", dir+":/work", f.Image, "/work", "-mindepth", "1", "-delete")
		if out, cerr := cmd.CombinedOutput(); cerr != nil {
			return fmt.Errorf("removing %s: %w (and as the agents' user: %s)", fleet.WorktreeRel(agent), err, strings.TrimSpace(string(out)))
		}
		if err := os.Remove(dir); err != nil {
			return fmt.Errorf("removing %s: %w", fleet.WorktreeRel(agent), err)
		}
	}
	return repo.DeleteBranch(agent)
}
