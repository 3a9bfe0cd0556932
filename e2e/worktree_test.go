//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"gotest.tools/v3/icmd"
)

// With --isolation worktree each agent gets its own clone, in a directory on the host, on
// its own branch; git works inside the agent; what an agent commits shows in diff and
// merges on the host, owned by the workspace's owner; down keeps worktrees and branches.
func TestFleetWorktrees(t *testing.T) {
	anyEngine(t, "worktree isolation is docker-magents' own")
	parallelSuite(t)
	e := newFleetEnv(t, "worktrees").inProject("worktreee2e")
	git := e.initRepo()
	e.magents("up", "--agents", "2", "--isolation", "worktree", "--include", ".env").Assert(t, icmd.Success)
	for i, agent := range []string{"agent-1", "agent-2"} {
		c := e.container(agent)
		docker("exec", c, "git", "-C", "/workspace", "branch", "--show-current").Assert(t, icmd.Expected{Out: "magents/" + agent})
		docker("exec", c, "git", "-C", "/workspace", "status", "--short").Assert(t, icmd.Success)
		docker("exec", c, "cat", "/workspace/.env").Assert(t, icmd.Expected{Out: "LOCAL_SETTING=1"})
		if i == 0 {
			docker("exec", c, "sh", "-c", "echo 'from agent-1' > feature.txt && git add feature.txt && "+
				"git -c user.name=Agent -c user.email=agent@example.invalid commit -qm 'agent-1 feature'").Assert(t, icmd.Success)
		}
	}
	// The other agent's worktree does not see agent-1's work.
	docker("exec", e.container("agent-2"), "test", "!", "-e", "/workspace/feature.txt").Assert(t, icmd.Success)

	diff := e.magents("diff", "agent-1")
	diff.Assert(t, icmd.Success)
	if !strings.Contains(diff.Stdout(), "+from agent-1") {
		t.Errorf("diff agent-1:\n%s", diff.Stdout())
	}
	e.magents("merge", "agent-1").Assert(t, icmd.Expected{Out: "Merged magents/agent-1"})
	for _, path := range []string{filepath.Join(e.dir, "feature.txt"), filepath.Join(e.dir, ".magents", "worktrees", "agent-1", "feature.txt")} {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if uid := st.Sys().(*syscall.Stat_t).Uid; uid != workspaceUID {
			t.Errorf("%s is owned by uid %d, not the workspace owner %d", path, uid, workspaceUID)
		}
	}
	if log := git("log", "--oneline", "-1"); !strings.Contains(log, "agent-1 feature") {
		t.Errorf("host HEAD: %s", log)
	}

	// A running agent's worktree stays.
	e.magents("worktree", "prune", "agent-2").Assert(t, icmd.Expected{ExitCode: 1, Err: "agent-2 is running: stop it first"})

	// down keeps worktrees and branches; ls, with no agent running, reads each clone in a
	// throwaway container and brings its branch to the host.
	e.magents("down").Assert(t, icmd.Success)
	if _, err := os.Stat(filepath.Join(e.dir, ".magents", "worktrees", "agent-2", "README")); err != nil {
		t.Errorf("down removed a worktree: %v", err)
	}
	e.magents("worktree", "ls").Assert(t, icmd.Expected{Out: "agent-2"})
	if branches := git("branch", "--list", "magents/*"); !strings.Contains(branches, "magents/agent-2") {
		t.Errorf("branches after down: %s", branches)
	}
	// A merge that conflicts changes nothing.
	e.magents("merge", "nonsense").Assert(t, icmd.Expected{ExitCode: 1, Err: "not an agent"})

	// prune removes what is merged and clean, keeps (and names) what holds work, and
	// deletes that too only when forced.
	wt2 := filepath.Join(e.dir, ".magents", "worktrees", "agent-2")
	if err := os.WriteFile(filepath.Join(wt2, "draft.txt"), []byte("unsaved\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.magents("worktree", "ls").Assert(t, icmd.Expected{Out: "1 uncommitted change"})
	prune := e.magents("worktree", "prune")
	prune.Assert(t, icmd.Expected{ExitCode: 1, Out: "Removed agent-1", Err: "agent-2 has 1 uncommitted change"})
	if _, err := os.Stat(filepath.Join(wt2, "draft.txt")); err != nil {
		t.Fatalf("prune deleted agent-2's work: %v", err)
	}
	if _, err := os.Stat(filepath.Join(e.dir, ".magents", "worktrees", "agent-1")); err == nil {
		t.Error("agent-1's merged worktree is still there")
	}
	e.magents("worktree", "prune", "--force", "agent-2").Assert(t, icmd.Expected{Out: "Removed agent-2"})
	if branches := git("branch", "--list", "magents/*"); branches != "" {
		t.Errorf("branches after prune --force: %s", branches)
	}
	e.magents("worktree", "prune").Assert(t, icmd.Expected{Err: "Nothing to prune"})
}

// initRepo makes the workspace a git repository with one commit and an untracked .env,
// owned by the workspace owner, and returns a git runner for it.
func (e *fleetEnv) initRepo() func(args ...string) string {
	t := e.t
	t.Helper()
	git := func(args ...string) string {
		t.Helper()
		// As root on the owner's repository: say it is safe, as the owner would not need to.
		cmd := exec.Command("git", append([]string{"-c", "safe.directory=*"}, args...)...)
		cmd.Dir = e.dir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q", "-b", "main")
	git("config", "user.email", "owner@example.invalid")
	git("config", "user.name", "Owner")
	if err := os.WriteFile(filepath.Join(e.dir, ".gitignore"), []byte(".magents/\n.env.magents\n.env\ndocker-compose.claude.yml\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.dir, "README"), []byte("project\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	git("add", ".")
	git("commit", "-q", "-m", "start")
	if err := os.WriteFile(filepath.Join(e.dir, ".env"), []byte("LOCAL_SETTING=1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("chown", "-R", fmt.Sprintf("%d:%d", workspaceUID, workspaceUID), e.dir).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v %s", err, out)
	}
	return git
}
