//go:build e2e

package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/icmd"

	"github.com/docker-magents/docker-magents/internal/anthropictest"
)

// The shared agent config: two agents start with the team's CLAUDE.md (its text reaches
// the Messages API in their turns), settings, MCP servers and commands, from files outside
// the repository; their commits carry the configured identity; config show reports what
// each has, an MCP server whose runtime the image lacks included; config sync gives a
// changed CLAUDE.md to a running agent without recreating its container, and refuses a
// settings file that does not parse.
func TestSharedConfig(t *testing.T) {
	anyEngine(t, "config sync is docker-magents' own")
	parallelSuite(t)
	nonce := strings.ReplaceAll(time.Now().Format("150405.000"), ".", "")
	e := newFleetEnv(t, "config"+nonce).inProject("confige2e")
	git := e.initRepo()
	team := t.TempDir()
	write := func(rel, content string) {
		t.Helper()
		p := filepath.Join(team, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	rule := "TEAMRULE" + nonce
	write("CLAUDE.md", "# Team\n\n"+rule+": answer briefly. Costs are in $USD.\n")
	write("settings.json", `{"includeCoAuthoredBy": false, "env": {"MAGENTS_TEAM": "yes"}}`)
	write("mcp.json", `{"mcpServers": {"teamdocs": {"command": "cat"}, "nodetool": {"command": "npx", "args": ["-y", "some-mcp-server"]}}}`)
	write("commands/review.md", "Review the diff of $ARGUMENTS.\n")
	token := "ghp_e2e" + nonce
	write("git-credentials", "https://team-bot:"+token+"@git.example.invalid\n")

	e.magents("up", "--agents", "2", "--isolation", "worktree",
		"--claude-md", filepath.Join(team, "CLAUDE.md"), "--settings", filepath.Join(team, "settings.json"),
		"--mcp", filepath.Join(team, "mcp.json"), "--commands", filepath.Join(team, "commands"),
		"--git-user-name", "Team Bot", "--git-user-email", "bot@example.invalid",
		"--git-credentials", filepath.Join(team, "git-credentials")).Assert(t, icmd.Success)
	e.magents("wait", "--for", "idle", "--timeout", "120s").Assert(t, icmd.Success)
	// The compose file is what docker compose itself accepts.
	dockerIn(e.dir, nil, "compose", "-f", "docker-compose.claude.yml", "config", "--quiet").Assert(t, icmd.Success)

	const claudeDir = "/home/magents/.claude"
	for _, agent := range []string{e.container("agent-1"), e.container("agent-2")} {
		docker("exec", agent, "grep", "-qF", rule+": answer briefly. Costs are in $USD.", claudeDir+"/CLAUDE.md").Assert(t, icmd.Success)
		docker("exec", agent, "test", "-f", claudeDir+"/commands/review.md").Assert(t, icmd.Success)
		settings := docker("exec", agent, "cat", claudeDir+"/settings.json").Stdout()
		if !strings.Contains(settings, `"includeCoAuthoredBy": false`) || !strings.Contains(settings, "magents-supervisor") {
			t.Errorf("%s settings: the team's keys and the supervisor's hooks should both be there:\n%s", agent, settings)
		}
		list := docker("exec", agent, "timeout", "90", "claude", "mcp", "list")
		if !strings.Contains(list.Stdout(), "teamdocs") {
			t.Errorf("%s: claude mcp list does not show the team's server:\n%s", agent, list.Combined())
		}
	}

	// Claude's turn carries the team's CLAUDE.md.
	e.magents("task", "agent-1", "ping with the team rules").Assert(t, icmd.Success)
	waitRequests(t, e.api, func(rs []anthropictest.Request) bool {
		for _, r := range rs {
			if r.HasTools() && r.Mentions(rule) {
				return true
			}
		}
		return false
	})

	// Commits made in an agent carry the fleet's identity; the host repository's own
	// config is untouched.
	docker("exec", e.container("agent-1"), "sh", "-c", "cd /workspace && echo x > team.txt && git add team.txt && git commit -qm 'team commit'").Assert(t, icmd.Success)
	who := docker("exec", e.container("agent-1"), "git", "-C", "/workspace", "log", "-1", "--format=%an <%ae>|%cn <%ce>").Stdout()
	if strings.TrimSpace(who) != "Team Bot <bot@example.invalid>|Team Bot <bot@example.invalid>" {
		t.Errorf("the agent's commit was made by %q", who)
	}
	if name := git("config", "--local", "user.name"); name != "Owner" {
		t.Errorf("the repository's own user.name became %q", name)
	}
	// The push token stays with the fleet's gateway: git's credential helper in the agent
	// has nothing for its host, and neither the env nor the compose file holds it.
	fill := docker("exec", e.container("agent-1"), "sh", "-c", "printf 'protocol=https\\nhost=git.example.invalid\\n\\n' | GIT_TERMINAL_PROMPT=0 git credential fill")
	if strings.Contains(fill.Combined(), token) || strings.Contains(fill.Stdout(), "password=") {
		t.Errorf("git credential fill in the agent gives the fleet's token:\n%s", fill.Combined())
	}
	if strings.Contains(docker("inspect", e.container("agent-1")).Stdout(), token) || strings.Contains(readFile(filepath.Join(e.dir, "docker-compose.claude.yml")), token) {
		t.Error("the push token is in docker inspect or the compose file")
	}

	var shown struct {
		Host   struct{ Digest string }
		Agents []struct {
			Agent  string
			InSync bool
			Config struct {
				Servers []struct {
					Name    string
					Problem string
				} `json:"mcpServers"`
				Problems []string
			}
		}
	}
	res := e.magents("config", "show", "--format", "json")
	res.Assert(t, icmd.Success)
	if err := json.Unmarshal([]byte(res.Stdout()), &shown); err != nil {
		t.Fatalf("config show: %v\n%s", err, res.Stdout())
	}
	if len(shown.Agents) != 2 || !shown.Agents[0].InSync || !shown.Agents[1].InSync {
		t.Errorf("config show: %+v", shown)
	}
	if p := strings.Join(shown.Agents[0].Config.Problems, ";"); !strings.Contains(p, `"nodetool" runs npx`) || !strings.Contains(p, "magents/claude-agent:dev") {
		t.Errorf("the npx server's missing runtime is not reported with its fix: %q", p)
	}
	if doc := e.magents("doctor", "agent-1"); doc.ExitCode == 0 || !strings.Contains(doc.Stdout(), "npx") {
		t.Errorf("doctor does not fail on the server it cannot start:\n%s", doc.Combined())
	}

	// A changed CLAUDE.md reaches the running agents; their containers stay.
	id := containerID(t, e.container("agent-1"))
	rule2 := "TEAMRULE2" + nonce
	write("CLAUDE.md", "# Team\n\n"+rule2+": the rules changed.\n")
	e.magents("config", "sync", "--restart-claude").Assert(t, icmd.Success)
	if got := containerID(t, e.container("agent-1")); got != id {
		t.Errorf("config sync recreated the container: %s → %s", id, got)
	}
	docker("exec", e.container("agent-2"), "grep", "-qF", rule2, claudeDir+"/CLAUDE.md").Assert(t, icmd.Success)
	e.magents("wait", "--for", "idle", "--timeout", "120s").Assert(t, icmd.Success)
	e.magents("task", "agent-1", "ping after the sync").Assert(t, icmd.Success)
	waitRequests(t, e.api, func(rs []anthropictest.Request) bool {
		for _, r := range rs {
			if r.HasTools() && r.Mentions(rule2) && strings.Contains(r.LastUserText(), "ping after the sync") {
				return true
			}
		}
		return false
	})
	// A restart of the container keeps the synced set (it is newer than the one compose
	// delivered at its start).
	docker("restart", e.container("agent-2")).Assert(t, icmd.Success)
	waitHealth(t, e.container("agent-2"), "healthy", 90*time.Second)
	docker("exec", e.container("agent-2"), "grep", "-qF", rule2, claudeDir+"/CLAUDE.md").Assert(t, icmd.Success)

	// For ECS and Cloud Run, which have no config objects: an image with the set in it. An
	// agent of that image places it at its start like a compose-delivered one.
	build := e.magents(append([]string{"build", "--with-config", "--progress", "quiet"}, caFlags()...)...)
	build.Assert(t, icmd.Success)
	t.Cleanup(func() { docker("rmi", "magents/claude-agent:latest-confige2e") })
	placed := docker("run", "--rm", "--entrypoint", "sh", "magents/claude-agent:latest-confige2e", "-c",
		"magents-supervisor agent true && cat "+claudeDir+"/CLAUDE.md && git config user.name")
	if !strings.Contains(placed.Stdout(), rule2) || !strings.Contains(placed.Stdout(), "Team Bot") {
		t.Errorf("the image built --with-config does not give its agents the set:\n%s", placed.Combined())
	}

	// Settings that do not parse are refused with their line; nothing changes.
	before := readFile(filepath.Join(e.dir, "docker-compose.claude.yml"))
	write("settings.json", "{\n  \"includeCoAuthoredBy\": nope\n}")
	bad := e.magents("config", "sync")
	if bad.ExitCode == 0 || !strings.Contains(bad.Stderr(), "settings.json: line 2") {
		t.Errorf("a broken settings.json was not refused with its line:\n%s", bad.Combined())
	}
	if readFile(filepath.Join(e.dir, "docker-compose.claude.yml")) != before {
		t.Error("a refused sync changed the compose file")
	}
}
