package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/docker/cli/cli/command"
	mobyclient "github.com/moby/moby/client"

	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/shellout"
	"github.com/docker-magents/docker-magents/internal/workspace"
)

// cloneGit runs git in agent's private clone (isolation clone or worktree): in the agent's
// container when it runs, else in a throwaway container of the fleet's image, with no
// network, on the agent's volume or directory. Never on the host: the clone and its config
// are the agent's. It returns git's standard output.
func cloneGit(ctx context.Context, dockerCli command.Cli, f *fleet.Fleet, agent string, args ...string) ([]byte, error) {
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
			if _, err := os.Stat(filepath.Join(volume, ".git")); err != nil {
				return nil, fmt.Errorf("%s has no clone in %s: %w", agent, fleet.WorktreeRel(agent), err)
			}
		} else if _, err := dockerCli.Client().VolumeInspect(ctx, volume, mobyclient.VolumeInspectOptions{}); err != nil {
			return nil, fmt.Errorf("%s has no clone (volume %s): %w", agent, volume, err)
		}
		// With its origin, read-only: the clone's alternate object store.
		origin := f.OriginGitDir() + ":" + fleet.OriginMountPath + ":ro"
		if f.CloneSeed {
			origin = f.SeedDir() + ":" + fleet.SeedMountPath + ":ro"
		}
		cmdArgs = append([]string{"run", "--rm", "--network", "none", "--user", f.User, "--entrypoint", "git",
			"-v", volume + ":" + fleet.WorkspaceDir, "-v", origin, f.Image}, gitArgs[1:]...)
	}
	var stdout, stderr bytes.Buffer
	cmd := docker.Command(ctx, cmdArgs...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("git %s in %s's clone: %v: %s", args[0], agent, err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// fetchClone brings agent's branch from its clone into the host repository (the branch
// magents/agent-N there), through a git bundle, so diff and merge work as for worktrees.
func fetchClone(ctx context.Context, dockerCli command.Cli, f *fleet.Fleet, repo *workspace.Repo, agent string) error {
	branch := workspace.Branch(agent)
	bundle, err := cloneGit(ctx, dockerCli, f, agent, "bundle", "create", "--quiet", "-", "refs/heads/"+branch)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp("", "magents-"+agent+"-*.bundle")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(bundle); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	// git runs as the repository's owner: let it read the bundle.
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	return repo.FetchBundle(tmp.Name(), branch)
}

// cloneWork says what agent's clone holds that the host repository does not: uncommitted
// changes and branches with commits the host lacks. Empty when nothing would be lost.
func cloneWork(ctx context.Context, dockerCli command.Cli, f *fleet.Fleet, repo *workspace.Repo, agent string) (string, error) {
	status, err := cloneGit(ctx, dockerCli, f, agent, "status", "--porcelain")
	if err != nil {
		return "", err
	}
	var parts []string
	if lines := strings.Count(strings.TrimSpace(string(status)), "\n") + 1; len(bytes.TrimSpace(status)) > 0 {
		parts = append(parts, workspace.Plural(lines, "uncommitted change"))
	}
	refs, err := cloneGit(ctx, dockerCli, f, agent, "for-each-ref", "--format=%(objectname) %(refname:short)", "refs/heads")
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
