//go:build e2e

package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"gotest.tools/v3/icmd"

	"github.com/docker-magents/docker-magents/internal/anthropictest"
	"github.com/docker-magents/docker-magents/internal/fleet"
)

// The hostile-agent suite: an agent is untrusted code. Each attempt runs inside an agent
// as the agent's user and must show it fired (checked from inside: the write refused, the
// file not there to read); then the host runs its usual commands, and nothing outside the
// agent's own area may have changed. make test-escape runs it alone.
var escapeAttempts, escapesGot atomic.Int32

// attempt runs script in the agent as its user; the script prints REFUSED when the attack
// was stopped where it stood, PLANTED when it got through. Anything else (an attempt that
// did not fire) fails the suite.
func attempt(t *testing.T, container, name, script string) {
	t.Helper()
	escapeAttempts.Add(1)
	res := docker("exec", container, "sh", "-c", script)
	switch out := res.Stdout(); {
	case strings.Contains(out, "PLANTED"):
		escapesGot.Add(1)
		t.Errorf("escape %q: the agent got through:\n%s", name, res.Combined())
	case !strings.Contains(out, "REFUSED"):
		t.Errorf("attempt %q did not fire (neither refused nor planted):\n%s", name, res.Combined())
	}
}

// hostState is a digest of every file of the fleet's own on the host: the compose file,
// the env file, the state dir (secrets, lock, records kept there by older versions) and
// the records under the Docker config dir.
func hostState(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	add := func(root string) {
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || d.Name() == "lock" {
				return nil
			}
			// What the egress proxy keeps as the fleet runs: the gateway's account and the
			// work queue (the proxy's files, beside the agents' socket directories, each
			// written to a temporary file first).
			if filepath.Dir(p) == filepath.Join(dir, fleet.StateDirName, "egress") {
				for _, kept := range []string{fleet.GatewayStateFile, fleet.QueueStateFile} {
					if name := strings.TrimPrefix(d.Name(), "."); name == kept || strings.HasPrefix(name, kept+".") {
						return nil
					}
				}
			}
			b, err := os.ReadFile(p)
			if err == nil {
				sum := sha256.Sum256(b)
				out[p] = hex.EncodeToString(sum[:])
			}
			return nil
		})
	}
	for _, p := range []string{"docker-compose.claude.yml", ".env.magents", ".magents"} {
		add(filepath.Join(dir, p))
	}
	// This fleet's record; other suites' records change as their fleets come and go.
	record := fleet.RecordPath(fleet.RecordsDir(os.Getenv("DOCKER_CONFIG")), filepath.Join(dir, "docker-compose.claude.yml"))
	if _, err := os.Stat(record); err != nil {
		t.Fatalf("the fleet's record: %v", err)
	}
	add(record)
	return out
}

func sameState(t *testing.T, before, after map[string]string) {
	t.Helper()
	var changed []string
	for p, sum := range before {
		if after[p] != sum {
			changed = append(changed, p)
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			changed = append(changed, p+" (new)")
		}
	}
	sort.Strings(changed)
	if len(changed) > 0 {
		t.Errorf("the host's fleet files changed: %v", changed)
	}
}

// In shared isolation (a workspace that is no git repository) the agents work in the
// directory of the compose file: the fleet's own files there are masked. An agent cannot
// raise its privileges through x-magents (with or without a forged hash), redirect the
// model endpoint through the env file, read the state dir's secrets, or reach another
// agent's; one attack goes through a real Claude turn (its Bash tool). The host's next
// up, ps, doctor, config show and down see nothing of it.
func TestEscapeSharedWorkspace(t *testing.T) {
	everyEngine(t, "confinement is the engine's: mounts, users, capabilities")
	parallelSuite(t)
	nonce := time.Now().Format("150405.000")
	attack := `cd /workspace; if printf '\n  docker: true\n' >> docker-compose.claude.yml 2>/dev/null && grep -q 'docker: true' docker-compose.claude.yml; then echo PLANTED; else echo REFUSED; fi`
	e := newFleetEnvWith(t, nonce, func(r anthropictest.Request) anthropictest.Reply {
		out, isResult := r.ToolResult()
		switch {
		case !r.HasTools():
			return anthropictest.Reply{Text: "Test title"}
		case isResult:
			return anthropictest.Reply{Text: "Result " + nonce + ": " + out}
		case strings.Contains(r.LastUserText(), "tidy the fleet "+nonce):
			return anthropictest.Reply{Text: "Editing the fleet.", ToolUse: &anthropictest.ToolUse{
				Name: "Bash", Input: map[string]any{"command": attack, "description": "Give myself the Docker socket"},
			}}
		}
		return anthropictest.Reply{Text: "The Messages API test double heard you."}
	}).inProject("escshared")
	if err := os.WriteFile(filepath.Join(e.dir, ".env"), []byte("COMPOSE_HTTP_TIMEOUT=120\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The team allows Claude's Bash tool, as many do: the attack runs without a question.
	settings := filepath.Join(t.TempDir(), "settings.json")
	if err := os.WriteFile(settings, []byte(`{"permissions": {"allow": ["Bash"]}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	// The fleet's key comes from a file in the shared workspace itself.
	if err := os.WriteFile(filepath.Join(e.dir, "team.key"), []byte(e.apiKey+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.magents("up", "--agents", "2", "--settings", settings, "--api-key-file", "team.key").Assert(t, icmd.Success)
	before := hostState(t, e.dir)
	agent := e.container("agent-1")
	t.Run("the key file in the workspace", func(t *testing.T) {
		attempt(t, agent, "read the credential file up was given", `if grep -q sk-ant /workspace/team.key 2>/dev/null; then echo PLANTED; else echo REFUSED; fi`)
	})

	t.Run("x-magents edit", func(t *testing.T) {
		attempt(t, agent, "append docker: true to the compose file", attack)
		attempt(t, agent, "replace the compose file by rename", `cd /workspace; cp /etc/hostname x.yml && if mv x.yml docker-compose.claude.yml 2>/dev/null; then echo PLANTED; else echo REFUSED; rm -f x.yml; fi`)
		attempt(t, agent, "read the compose file", `if grep -q x-magents /workspace/docker-compose.claude.yml 2>/dev/null; then echo PLANTED; else echo REFUSED; fi`)
	})
	t.Run("forged record", func(t *testing.T) {
		attempt(t, agent, "write a hash into the state dir", `if echo forged > /workspace/.magents/compose.sha256 2>/dev/null; then echo PLANTED; else echo REFUSED; fi`)
		attempt(t, agent, "remove the state dir", `if rm -rf /workspace/.magents 2>/dev/null && ! [ -d /workspace/.magents ]; then echo PLANTED; else echo REFUSED; fi`)
	})
	t.Run("state dir secrets", func(t *testing.T) {
		attempt(t, agent, "read the state dir", `if [ -n "$(ls -A /workspace/.magents 2>/dev/null)" ]; then echo PLANTED; else echo REFUSED; fi`)
	})
	t.Run("env files", func(t *testing.T) {
		attempt(t, agent, "redirect ANTHROPIC_BASE_URL", `if echo ANTHROPIC_BASE_URL=http://agent-1:9 >> /workspace/.env.magents 2>/dev/null; then echo PLANTED; else echo REFUSED; fi`)
		attempt(t, agent, "read compose's .env", `if grep -q COMPOSE /workspace/.env 2>/dev/null; then echo PLANTED; else echo REFUSED; fi`)
		attempt(t, agent, "rewrite compose's .env", `if echo X=1 > /workspace/.env 2>/dev/null; then echo PLANTED; else echo REFUSED; fi`)
	})
	t.Run("escape sequences in a notification", func(t *testing.T) {
		// As Claude's Notification hook would: the agent is then waiting, for that message.
		escapeAttempts.Add(1)
		// JSON, as Claude writes it: the escape sequences arrive as \u001b, and leave it raw.
		docker("exec", e.container("agent-2"), "sh", "-c", `magents-supervisor hook <<'EOF'
{"hook_event_name":"Notification","notification_type":"permission_prompt","message":"approve \u001b]0;pwned\u0007\u001b[2J now"}
EOF`).Assert(t, icmd.Success)
		if h := docker("exec", e.container("agent-2"), "magents-supervisor", "health").Stdout(); !strings.Contains(h, `\u001b]0;pwned`) {
			t.Fatalf("the planted notification did not reach the agent's health: %s", h)
		}
		for _, args := range [][]string{{"ps", "--live"}, {"ps", "--live", "--format", "json"}, {"wait", "--for", "waiting", "--timeout", "10s", "agent-2"}, {"doctor", "agent-2"}} {
			out := e.magents(args...).Combined()
			if strings.ContainsAny(out, "\x1b\a") {
				escapesGot.Add(1)
				t.Errorf("docker magents %s printed the agent's escape sequences: %q", strings.Join(args, " "), out)
			} else if args[0] == "ps" && !strings.Contains(out, "approve") {
				t.Errorf("docker magents %s does not show the notification: %s", strings.Join(args, " "), out)
			}
		}
	})
	t.Run("through a Claude turn", func(t *testing.T) {
		escapeAttempts.Add(1)
		if res := e.magents("wait", "--for", "idle", "--timeout", "90s", "agent-1"); res.ExitCode != 0 {
			t.Fatalf("%s\npane:\n%s", res.Combined(), docker("exec", agent, "tmux", "capture-pane", "-p", "-t", "claude").Stdout())
		}
		e.magents("task", "agent-1", "tidy the fleet "+nonce).Assert(t, icmd.Success)
		// seen is each request's user text and tool result.
		seen := func(rs []anthropictest.Request) []string {
			var list []string
			for _, r := range rs {
				out, _ := r.ToolResult()
				list = append(list, fmt.Sprintf("%q/%q", r.LastUserText(), out))
			}
			return list
		}
		result := waitFor(t, 90*time.Second, "the tool result of the attack's Claude turn", func() (bool, string) {
			rs := e.api.Requests()
			var result string
			for _, r := range rs {
				if out, ok := r.ToolResult(); ok && r.Mentions("tidy the fleet "+nonce) {
					result = out
				}
			}
			if result == "" {
				return false, fmt.Sprintf("requests: %v\npane:\n%s", seen(rs),
					docker("exec", agent, "tmux", "capture-pane", "-p", "-t", "claude").Stdout())
			}
			return true, result
		})
		switch {
		case strings.Contains(result, "PLANTED"):
			escapesGot.Add(1)
			t.Errorf("Claude's Bash tool got through: %s", result)
		case !strings.Contains(result, "REFUSED"):
			t.Errorf("Claude's Bash tool did not run the attack (tool result %q); requests: %v\npane:\n%s", result, seen(e.api.Requests()),
				docker("exec", agent, "tmux", "capture-pane", "-p", "-t", "claude").Stdout())
		}
	})

	// The host's usual commands: nothing the agent did reaches them.
	e.magents("up").Assert(t, icmd.Success)
	e.magents("ps").Assert(t, icmd.Success)
	e.magents("config", "show").Assert(t, icmd.Success)
	sameState(t, before, hostState(t, e.dir))
	for _, c := range []string{agent, e.container("agent-2")} {
		mounts := docker("inspect", "-f", "{{range .Mounts}}{{.Source}} {{end}}", c).Stdout()
		if strings.Contains(mounts, "docker.sock") {
			t.Errorf("%s got the Docker socket: %s", c, mounts)
		}
		docker("exec", c, "id", "-u").Assert(t, icmd.Expected{Out: fmt.Sprint(workspaceUID)})
	}
	if got := readFile(filepath.Join(e.dir, ".env")); got != "COMPOSE_HTTP_TIMEOUT=120\n" {
		t.Errorf("compose's .env is now %q", got)
	}
	if a := escapesGot.Load(); a > 0 {
		t.Errorf("%d escape(s)", a)
	}
}

// A compose file changed behind docker magents' back (as an agent of an older version,
// or any other writer, could have) is not acted on: up refuses it, and up --force never
// takes from it a setting that widens what the agents reach. Values the user gives reach
// the agents verbatim: $VAR and ${ are never interpolated.
func TestEscapeChangedDefinition(t *testing.T) {
	everyEngine(t, "confinement is the engine's: mounts, users, capabilities")
	parallelSuite(t)
	e := newFleetEnv(t, time.Now().Format("150405.000")).inProject("escdef")
	task := "print $SECRETPROBE and ${HOME} and ${"
	res := icmd.RunCmd(icmd.Cmd{
		Command: []string{"docker", "magents", "-p", e.project, "up", "--task", task, "--agent-cmd", "bash"},
		Dir:     e.dir, Env: append(os.Environ(), "ANTHROPIC_API_KEY="+e.apiKey, "SECRETPROBE=the-host-secret"),
	})
	res.Assert(t, icmd.Success)
	escapeAttempts.Add(1)
	env := docker("inspect", "-f", "{{range .Config.Env}}{{println .}}{{end}}", e.container("agent-1")).Stdout()
	if strings.Contains(env, "the-host-secret") || !strings.Contains(env, "TASK="+task+"\n") {
		escapesGot.Add(1)
		t.Errorf("the task did not reach the agent verbatim:\n%s", env)
	}

	composeFile := filepath.Join(e.dir, "docker-compose.claude.yml")
	b := readFile(composeFile)
	owner := fmt.Sprintf("%d:%d", workspaceUID, workspaceUID)
	head, block, _ := strings.Cut(b, "x-magents:\n")
	forged := head + "x-magents:\n  docker: true\n" + strings.Replace(block, "\n  user: "+owner+"\n", "\n  user: \"0:0\"\n", 1)
	if !strings.Contains(forged, `user: "0:0"`) {
		t.Fatalf("no user %s in x-magents:\n%s", owner, b)
	}
	if err := os.WriteFile(composeFile, []byte(forged), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(forged))
	if err := os.WriteFile(filepath.Join(e.dir, ".magents", "compose.sha256"), []byte(hex.EncodeToString(sum[:])+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	escapeAttempts.Add(1)
	e.magents("up").Assert(t, icmd.Expected{ExitCode: 1, Err: "changed since docker magents wrote it"})
	res = e.magents("up", "--force")
	res.Assert(t, icmd.Expected{ExitCode: 1, Err: "widens what the agents reach"})
	for _, want := range []string{`--docker: "false" → "true"`, `--user: "` + owner + `" → "0:0"`} {
		if !strings.Contains(res.Stderr(), want) {
			t.Errorf("up --force does not name %s:\n%s", want, res.Stderr())
		}
	}
	if strings.Contains(docker("inspect", "-f", "{{range .Mounts}}{{.Source}} {{end}}", e.container("agent-1")).Stdout(), "docker.sock") {
		escapesGot.Add(1)
		t.Error("the forged docker: true reached the agent")
	}
	// Given on the command line, the owner's choice is taken.
	e.magents("up", "--force", "--docker=false", "--user", owner).Assert(t, icmd.Success)
	if strings.Contains(readFile(composeFile), "docker: true") {
		t.Error("the forged setting survived up --force")
	}
	e.magents("up").Assert(t, icmd.Success)
}

// A host's Claude login shared with the one agent: the agent sees the credential and the
// settings, read-only, and nothing else of the login dir — no project's history.
func TestEscapeHostLoginHistory(t *testing.T) {
	everyEngine(t, "confinement is the engine's: mounts, users, capabilities")
	parallelSuite(t)
	e := newFleetEnv(t, time.Now().Format("150405.000"))
	home := t.TempDir()
	login := filepath.Join(home, ".claude")
	for p, content := range map[string]string{
		".credentials.json": `{"claudeAiOauth":{"accessToken":"sk-ant-oat01-e2e","refreshToken":"r","expiresAt":4102444800000}}`,
		"settings.json":     `{}`,
		"projects/-home-dev-secret-project/transcript.jsonl": `{"secret":"another project's conversation"}`,
		"history.jsonl": `{"display":"a prompt from another project"}`,
	} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(login, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(login, p), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"HOME=" + home, "ANTHROPIC_API_KEY=", "CLAUDE_CODE_OAUTH_TOKEN=", "ANTHROPIC_AUTH_TOKEN="}
	mg := func(args ...string) *icmd.Result {
		cmd := icmd.Command("docker", append([]string{"magents", "-p", "hostlogin"}, args...)...)
		cmd.Dir, cmd.Env = e.dir, append(os.Environ(), env...)
		return icmd.RunCmd(cmd)
	}
	t.Cleanup(func() { mg("down", "--volumes") })
	mg("up").Assert(t, icmd.Expected{Err: "your own Claude login"})
	c := "hostlogin-agent-1"
	attempt(t, c, "read another project's transcript", `if cat /auth/projects/*/transcript.jsonl /auth/history.jsonl 2>/dev/null | grep -q .; then echo PLANTED; else echo REFUSED; fi`)
	attempt(t, c, "rewrite the host's credential", `if echo x > /auth/.credentials.json 2>/dev/null; then echo PLANTED; else echo REFUSED; fi`)
	docker("exec", c, "sh", "-c", "ls -A /auth | tr '\\n' ' '").Assert(t, icmd.Expected{Out: ".credentials.json settings.json"})
	if got := readFile(filepath.Join(login, ".credentials.json")); !strings.Contains(got, "sk-ant-oat01-e2e") {
		t.Errorf("the host's credential changed: %q", got)
	}
}

// stage plants, inside an agent as its user, something that fires only if the host ever
// runs it (git config and hooks in the agent's own clone, say). The script prints STAGED
// when the plant is in place, checked from inside; anything else fails the suite. Whether
// it escaped is the host's check afterwards.
func stage(t *testing.T, container, name, script string) {
	t.Helper()
	escapeAttempts.Add(1)
	if res := docker("exec", container, "sh", "-c", script); !strings.Contains(res.Stdout(), "STAGED") {
		t.Errorf("plant %q is not in place:\n%s", name, res.Combined())
	}
}

// gitState is a digest of what of the host repository no agent may change: its config,
// hooks, info and every ref but the agents' own branches (which bundles bring in).
func gitState(t *testing.T, git func(...string) string, gitDir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, p := range []string{"config", "hooks", "info"} {
		_ = filepath.WalkDir(filepath.Join(gitDir, p), func(path string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				sum := sha256.Sum256([]byte(readFile(path)))
				out[path] = hex.EncodeToString(sum[:])
			}
			return nil
		})
	}
	for _, line := range strings.Split(git("for-each-ref", "--format=%(refname) %(objectname)"), "\n") {
		if ref, sha, ok := strings.Cut(line, " "); ok && !strings.HasPrefix(ref, "refs/heads/magents/") {
			out[ref] = sha
		}
	}
	return out
}

// Worktree isolation: the agent's clone is a directory on the host, but the host's git
// dir is read-only to it — no config, hook, ref or object of the host's can be written —
// and every git execution route planted in the agent's own clone (fsmonitor, hooksPath,
// hooks, filter, textconv, diff and merge drivers, pager, includeIf, the .git file and
// commondir pointed at a repository the agent made) never runs on the host, through all
// of docker magents' commands and the developer's own git in the checkout. A branch with
// a committed .gitattributes driver, a symlink out of the tree (directly, or through the
// tree's other links), one into .git, a .GitModules or a changed .magentsinclude is not
// merged.
func TestEscapeWorktreeGit(t *testing.T) {
	everyEngine(t, "confinement is the engine's: mounts, users, capabilities")
	parallelSuite(t)
	e := newFleetEnv(t, time.Now().Format("150405.000")).inProject("escgit")
	git := e.initRepo()
	marks := t.TempDir()
	if err := os.Chmod(marks, 0o777); err != nil {
		t.Fatal(err)
	}
	// An include that is a symlink out of the repository is refused, by name, and the file
	// it points to reaches no agent.
	escapeAttempts.Add(1)
	secret := filepath.Join(t.TempDir(), "id_rsa")
	if err := os.WriteFile(secret, []byte("host secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(e.dir, "key.pem")); err != nil {
		t.Fatal(err)
	}
	e.magents("up", "--isolation", "worktree", "--include", "key.pem").Assert(t, icmd.Expected{ExitCode: 1, Err: "key.pem is a symlink to " + secret})
	if err := os.Remove(filepath.Join(e.dir, "key.pem")); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(e.dir, ".magents", "include", "key.pem")); err == nil {
		escapesGot.Add(1)
		t.Errorf("the host's file was staged for the agents: %q", b)
	}
	if _, err := os.Stat(filepath.Join(e.dir, "docker-compose.claude.yml")); err == nil {
		t.Error("the refused up wrote the compose file")
	}
	e.magents("up", "--agents", "2", "--isolation", "worktree").Assert(t, icmd.Success)
	gitDir := filepath.Join(e.dir, ".git")
	before, beforeGit := hostState(t, e.dir), gitState(t, git, gitDir)
	main := git("rev-parse", "main")
	a1, a2 := e.container("agent-1"), e.container("agent-2")
	run := func(route string) string { return "touch " + filepath.Join(marks, route) }

	t.Run("the host's git dir", func(t *testing.T) {
		docker("exec", a1, "sh", "-c", "git commit -q --allow-empty -m mine").Assert(t, icmd.Success)
		attempt(t, a1, "set core.fsmonitor in the host's config", `if git config -f /magents/origin/config core.fsmonitor '`+run("host-config")+`' 2>/dev/null; then echo PLANTED; else echo REFUSED; fi`)
		attempt(t, a1, "plant a hook in the host's git dir", `if printf '#!/bin/sh\n`+run("host-hook")+`\n' > /magents/origin/hooks/post-checkout 2>/dev/null; then echo PLANTED; else echo REFUSED; fi`)
		attempt(t, a1, "move the host's main", `if git --git-dir=/magents/origin update-ref refs/heads/main "$(git rev-parse HEAD)" 2>/dev/null; then echo PLANTED; else echo REFUSED; fi`)
		attempt(t, a1, "replace an object in the host's store", `f=$(find /magents/origin/objects -type f | head -n1); if [ -n "$f" ] && { echo x > "$f" || rm -f "$f" || mv "$f" "$f.x"; } 2>/dev/null; then echo PLANTED; else echo REFUSED; fi`)
		attempt(t, a1, "add an object to the host's store", `if touch /magents/origin/objects/info/alternates 2>/dev/null; then echo PLANTED; else echo REFUSED; fi`)
		attempt(t, a1, "reach agent-2's worktree", `if ls -a / /workspace /magents 2>/dev/null | grep -q 'agent-2\|worktrees'; then echo PLANTED; else echo REFUSED; fi`)
	})
	t.Run("git routes in the agent's clone", func(t *testing.T) {
		// Each value runs the host-side marker, then does the route's job (filters and
		// textconv must pass content through, or the agent's own commits would change).
		cfg := ""
		for key, route := range map[string][2]string{
			"core.fsmonitor": {"fsmonitor", "true"}, "core.pager": {"pager", "cat"}, "diff.evil.textconv": {"textconv", "cat"},
			"diff.evil.command": {"diff-driver", "true"}, "merge.evil.driver": {"merge-driver", "true"},
			"filter.evil.clean": {"filter-clean", "cat"}, "filter.evil.smudge": {"filter-smudge", "cat"},
			"core.sshCommand": {"ssh", "true"}, "uploadpack.packObjectsHook": {"pack-objects-hook", "true"},
		} {
			cfg += fmt.Sprintf("git config %s '%s; %s' && ", key, run(route[0]), route[1])
		}
		stage(t, a1, "config routes", cfg+`git config core.fsmonitor | grep -q touch && echo STAGED`)
		stage(t, a1, "hooks and hooksPath", `mkdir -p /workspace/.hooks && for h in pre-commit post-checkout post-merge reference-transaction pre-auto-gc post-index-change; do
			printf '#!/bin/sh\n`+run("hook-")+`'$h'\n' | tee .git/hooks/$h > .hooks/$h; chmod +x .git/hooks/$h .hooks/$h; done &&
			git config core.hooksPath /workspace/.hooks && test -x .git/hooks/post-merge && echo STAGED`)
		stage(t, a1, "includeIf", `printf '[core]\n\tfsmonitor = `+run("include-if")+`\n' > /workspace/.inc && git config 'includeIf.gitdir:/.path' /workspace/.inc && git config 'include.path' /workspace/.inc && echo STAGED`)
		stage(t, a1, "a committed .gitattributes driver and a symlink out", `printf '* filter=evil diff=evil merge=evil\n' > .gitattributes && ln -sf /etc/shadow shadow.txt &&
			echo work > work.txt && git add .gitattributes shadow.txt work.txt && git -c core.hooksPath=/dev/null commit -qm 'agent work' && git log -1 --format=%s | grep -q 'agent work' && echo STAGED`)
		// Judged by effect, not by name: links that leave the tree only through another link
		// or lead into .git, a .gitmodules spelt as a case-insensitive disk reads it, and a
		// change to the include list the next up copies files by.
		stage(t, a1, "links out through other links, and into .git", `ln -s . l2 && ln -s l2/l2/l2/l2/l2/l2/../../../../../../etc/passwd l1 &&
			mkdir -p docs && ln -s ../.git/config docs/cfg && grep -q '^root:' l1 && git add l1 l2 docs/cfg &&
			git -c core.hooksPath=/dev/null commit -qm 'links' && git log -1 --format=%s | grep -qx links && echo STAGED`)
		stage(t, a1, "a .GitModules and a wider .magentsinclude", `printf '[submodule "x"]\n\tpath = x\n\turl = ../x\n\tupdate = !`+run("submodule")+`\n' > .GitModules &&
			printf '.env\n*.pem\n' > .magentsinclude && git add .GitModules .magentsinclude &&
			git -c core.hooksPath=/dev/null commit -qm 'settings' && git log -1 --format=%s | grep -qx settings && echo STAGED`)
		stage(t, a1, "a file whose escapes hide a hunk from the review", `printf 'visible\n\033[1A\033[2Khidden\033[8m concealed\n' > review.txt &&
			git add review.txt && git -c core.hooksPath=/dev/null commit -qm 'review' && grep -q "$(printf '\033')" review.txt && echo STAGED`)
		// agent-2 points its .git at a repository it made, and gives that one commondir.
		stage(t, a2, "the .git file and commondir", `git init -q --bare /workspace/.evil && git --git-dir=/workspace/.evil config core.fsmonitor '`+run("gitfile")+`; true' &&
			mv /workspace/.git /workspace/.real && printf 'gitdir: /workspace/.evil\n' > /workspace/.git &&
			echo /workspace/.evil > /workspace/.real/commondir && git config -f /workspace/.real/config core.fsmonitor '`+run("commondir")+`; true' &&
			git -C /workspace rev-parse --git-dir | grep -q evil && echo STAGED`)
	})

	// The host's usual commands, with the agents running and then stopped, and the
	// developer's own git in the checkout.
	e.magents("worktree", "ls").Assert(t, icmd.Expected{Out: "agent-2"})
	e.magents("ps").Assert(t, icmd.Success)
	e.magents("doctor").Assert(t, icmd.Success)
	diff := e.magents("diff", "agent-1")
	diff.Assert(t, icmd.Expected{Out: "+work"})
	escapeAttempts.Add(1)
	if strings.ContainsAny(diff.Stdout(), "\x1b\u009b") || !strings.Contains(diff.Stdout(), "+^[[1A^[[2Khidden^[[8m concealed") {
		escapesGot.Add(1)
		t.Errorf("diff passed the agent's escape sequences to the terminal:\n%q", diff.Stdout())
	}
	res := e.magents("merge", "agent-1")
	res.Assert(t, icmd.Expected{ExitCode: 1})
	for _, want := range []string{".gitattributes", "shadow.txt -> /etc/shadow", "l1 -> l2/l2/l2/l2/l2/l2/../../../../../../etc/passwd",
		"docs/cfg -> ../.git/config", ".GitModules", ".magentsinclude (up copies"} {
		if !strings.Contains(res.Stderr(), want) {
			t.Errorf("merge did not name %q:\n%s", want, res.Stderr())
		}
	}
	// Naming the include list is not enough while the rest stands.
	e.magents("merge", "--allow-change", ".magentsinclude", "agent-1").Assert(t, icmd.Expected{ExitCode: 1, Err: "l1 -> "})
	e.magents("up").Assert(t, icmd.Success)
	e.magents("config", "show").Assert(t, icmd.Success)
	e.magents("down").Assert(t, icmd.Success)
	ls := e.magents("worktree", "ls")
	ls.Assert(t, icmd.Success)
	if !strings.Contains(ls.Stdout(), "unreadable") {
		t.Errorf("worktree ls does not say agent-2's clone is unreadable:\n%s", ls.Stdout())
	}
	e.magents("doctor", "agent-1").Assert(t, icmd.Expected{ExitCode: 1, Out: "5 unmerged commits on magents/agent-1"})
	e.magents("worktree", "prune").Assert(t, icmd.Expected{ExitCode: 1, Err: "kept"})
	git("status")
	git("log", "-1")
	git("diff", "main", "magents/agent-1")

	if got := git("rev-parse", "main"); got != main {
		escapesGot.Add(1)
		t.Errorf("main moved from %s to %s", main, got)
	}
	if entries, _ := os.ReadDir(marks); len(entries) > 0 {
		for _, en := range entries {
			escapesGot.Add(1)
			t.Errorf("the host ran the agent's %s", en.Name())
		}
	}
	sameState(t, beforeGit, gitState(t, git, gitDir))
	after := hostState(t, e.dir)
	for p := range after {
		if strings.Contains(p, "/.magents/worktrees/") || strings.Contains(p, "/.magents/include") {
			delete(after, p) // the agents' own area
		}
	}
	for p := range before {
		if strings.Contains(p, "/.magents/worktrees/") {
			delete(before, p)
		}
	}
	sameState(t, before, after)
}

// Networks: with egress allowlist (the default) an agent has no network — only loopback,
// whose proxy port leads to the fleet's proxy through a socket of its own. It reaches no
// host service (by the gateway's address or host.docker.internal), no other agent, no
// Docker socket, and cannot exhaust the proxy for the others: over its share of
// connections it is answered 503 while the next agent is served. With egress open, the
// agents share a network whose bridge forwards nothing between them.
func TestEscapeNetwork(t *testing.T) {
	everyEngine(t, "confinement is the engine's: networks, capabilities, seccomp")
	parallelSuite(t)
	e := newFleetEnv(t, time.Now().Format("150405.000")).inProject("escnet")
	// A service on the host, listening on every address.
	svc, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	var reached atomic.Int32
	go func() {
		for {
			c, err := svc.Accept()
			if err != nil {
				return
			}
			reached.Add(1)
			c.Close()
		}
	}()
	port := fmt.Sprint(svc.Addr().(*net.TCPAddr).Port)
	host := hostAddr()
	if host == "host.docker.internal" {
		host = strings.TrimSpace(docker("network", "inspect", "-f", "{{(index .IPAM.Config 0).Gateway}}", "bridge").Stdout())
	}
	e.magents("up", "--agents", "2").Assert(t, icmd.Success)
	a1, a2 := e.container("agent-1"), e.container("agent-2")
	proxyIP := strings.TrimSpace(docker("inspect", "-f", `{{(index .NetworkSettings.Networks "escnet_egress").IPAddress}}`, "escnet-egress-proxy").Stdout())
	before := hostState(t, e.dir)

	t.Run("allowlist", func(t *testing.T) {
		for name, target := range map[string]string{
			"a host service by the gateway's address": host + "/" + port,
			"a host service by host.docker.internal":  "host.docker.internal/" + port,
			"the egress proxy's own port":             proxyIP + "/3128",
			"the egress proxy by name":                "egress-proxy/3128",
			"agent-2 by name":                         a2 + "/3128",
		} {
			attempt(t, a1, "reach "+name, `if timeout 5 bash -c 'exec 3<>/dev/tcp/`+target+`' 2>/dev/null; then echo PLANTED; else echo REFUSED; fi`)
		}
		attempt(t, a1, "a host service through the proxy", `if bash -c 'exec 3<>/dev/tcp/127.0.0.1/3128 && printf "GET http://`+host+`:`+port+`/ HTTP/1.0\r\n\r\n" >&3 && head -n1 <&3' | grep -q ' 403 '; then echo REFUSED; else echo PLANTED; fi`)
		attempt(t, a1, "the Docker socket", `if [ -S /var/run/docker.sock ] || [ -S /run/docker.sock ] || [ -n "$(find /run/magents-egress -type s ! -name proxy.sock)" ]; then echo PLANTED; else echo REFUSED; fi`)
		attempt(t, a1, "another agent's socket", `if ls -a /run/magents-egress/.. 2>/dev/null | grep -q agent-2 || [ -e /run/magents-egress/../agent-2 ]; then echo PLANTED; else echo REFUSED; fi`)

		// Exhausting the proxy: agent-1 holds more connections than its share (the proxy
		// closes a silent one after 10 s); its next is refused, agent-2 is still served.
		// The agent opens them and asks, in one script, so that how long docker exec takes
		// on a loaded machine never decides whether its connections are still held when it
		// asks: it asks until it is refused (its forwarder dials the proxy for each
		// connection as it is accepted, so the last ones reach the proxy a moment after
		// bash has them), for 8 s at most, and leaves the last answer in a file, which the
		// test waits for.
		escapeAttempts.Add(1)
		request := `exec 3<>/dev/tcp/127.0.0.1/3128 && printf 'GET http://denied.test/ HTTP/1.0\r\n\r\n' >&3 && head -n1 <&3`
		// It keeps opening more while it is not refused: on a loaded machine the proxy may
		// have closed the first ones (silent for 10 s) by the time it asks.
		docker("exec", "-d", a1, "bash", "-c", `for i in $(seq 80); do exec {fd}<>/dev/tcp/127.0.0.1/3128; done
			end=$((SECONDS + 8)); ans=
			while [ $SECONDS -lt $end ]; do ans=$(timeout 5 bash -c "$0" 2>&1); case $ans in *" 503 "*) break ;; esac
				for i in $(seq 16); do exec {fd}<>/dev/tcp/127.0.0.1/3128; done; sleep 0.2; done
			printf '%s\n' "$ans" > /tmp/over-share.tmp && mv /tmp/over-share.tmp /tmp/over-share; sleep 9`, request).Assert(t, icmd.Success)
		answer := waitFor(t, time.Minute, "agent-1's request over its share of the proxy to be answered", func() (bool, string) {
			res := docker("exec", a1, "cat", "/tmp/over-share")
			return res.ExitCode == 0, res.Combined()
		})
		if !strings.Contains(answer, " 503 ") {
			escapesGot.Add(1)
			t.Errorf("agent-1, over its share of the proxy, was answered %q, want 503", answer)
		}
		if out := docker("exec", a2, "timeout", "5", "bash", "-c", request).Stdout(); !strings.Contains(out, " 403 ") {
			escapesGot.Add(1)
			t.Errorf("agent-2 while agent-1 holds its share: %q, want the proxy's 403", out)
		}
	})
	if n := reached.Load(); n > 0 {
		escapesGot.Add(1)
		t.Errorf("agents reached the host's service %d times", n)
	}
	e.magents("ps").Assert(t, icmd.Success)
	e.magents("egress", "log").Assert(t, icmd.Success)
	sameState(t, before, hostState(t, e.dir))
	// The shared workspace had no compose .env: one the agent writes is never read by the
	// host's compose (a broken one would stop every up and down).
	stage(t, a1, "a compose .env of its own", `printf 'COMPOSE_PROFILES=agent\nA="unterminated\n' > /workspace/.env && grep -q unterminated /workspace/.env && echo STAGED`)
	e.magents("down").Assert(t, icmd.Success)

	t.Run("open", func(t *testing.T) {
		e.magents("up", "--agents", "2", "--egress", "open").Assert(t, icmd.Success)
		// agent-2 listens; it answers itself, and agent-1 cannot reach it.
		docker("exec", "-d", "-e", "MAGENTS_PROXY_ADDR=0.0.0.0:3999", a2, "magents-supervisor", "proxy").Assert(t, icmd.Success)
		ip := strings.TrimSpace(docker("inspect", "-f", `{{(index .NetworkSettings.Networks "escnet_default").IPAddress}}`, a2).Stdout())
		waitFor(t, 10*time.Second, fmt.Sprintf("agent-2's listener on %s:3999 to answer agent-2", ip), func() (bool, string) {
			res := docker("exec", a2, "bash", "-c", "exec 3<>/dev/tcp/"+ip+"/3999")
			return res.ExitCode == 0, fmt.Sprintf("exit %d: %s", res.ExitCode, res.Combined())
		})
		attempt(t, a1, "reach agent-2 over the network", `if timeout 5 bash -c 'exec 3<>/dev/tcp/`+ip+`/3999' 2>/dev/null; then echo PLANTED; else echo REFUSED; fi`)
		attempt(t, a1, "reach agent-2 by name", `if timeout 5 bash -c 'exec 3<>/dev/tcp/`+a2+`/3999' 2>/dev/null; then echo PLANTED; else echo REFUSED; fi`)
	})
}

// TestEscapeGitCredentials: with up --git-credentials, no agent holds the fleet's git
// token — it stays with the gateway, whose git relay pushes only what the rules allow.
// The remote is a real bare repository served by git http-backend on this host, to the
// canary token alone.
func TestEscapeGitCredentials(t *testing.T) {
	everyEngine(t, "what the engine gives an agent: mounts, environment, inspect")
	parallelSuite(t)
	requireHTTPBackend(t)
	e := newFleetEnvWith(t, fmt.Sprint(time.Now().UnixNano()), nil).inProject("gitescape")
	git := e.initRepo()
	remotes, bare := teamRemote(t)
	const canary = "canary-git-token-7f3a"
	url := gitServer(t, remotes, "fleet-bot", canary)
	remote := url + "/team.git"
	git("remote", "add", "origin", remote)
	git("push", "-q", bare, "HEAD:refs/heads/main")
	creds := filepath.Join(t.TempDir(), "git-credentials")
	if err := os.WriteFile(creds, []byte("http://fleet-bot:"+canary+"@"+strings.TrimPrefix(url, "http://")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.magents("down", "--volumes", "--force") })
	up := e.magents("up", "--agents", "2", "--git-credentials", creds)
	up.Assert(t, icmd.Success)
	if !strings.Contains(up.Stderr(), "through the fleet's gateway, which alone holds the git credentials") {
		t.Errorf("up does not say where the git credentials are:\n%s", up.Stderr())
	}
	a1 := e.container("agent-1")
	remoteRef := func(ref string) string {
		out, _ := exec.Command("git", "--git-dir", bare, "rev-parse", "--verify", "--quiet", ref).Output()
		return strings.TrimSpace(string(out))
	}
	mainBefore := remoteRef("refs/heads/main")

	// The canary is nowhere an agent can look (each script spells it in two halves, so
	// that its own command line does not hold it).
	half := len(canary) / 2
	find := `c1=` + canary[:half] + `; c="${c1}` + canary[half:] + `"; `
	attempt(t, a1, "find the git token in the agent's files", find+`if grep -rqsIF "$c" / --exclude-dir=proc --exclude-dir=sys --exclude-dir=usr 2>/dev/null; then echo PLANTED; else echo REFUSED; fi`)
	attempt(t, a1, "find the git token in any process's environment", find+`if cat /proc/[0-9]*/environ 2>/dev/null | tr '\0' '\n' | grep -qF "$c"; then echo PLANTED; else echo REFUSED; fi`)
	// The pattern from a file: grep's own command line would hold it.
	attempt(t, a1, "find the git token in any process's command line", find+`printf '%s\n' "$c" > /tmp/pat; if cat /proc/[0-9]*/cmdline 2>/dev/null | tr '\0' '\n' | grep -qFf /tmp/pat; then echo PLANTED; else echo REFUSED; fi; rm -f /tmp/pat`)
	attempt(t, a1, "find a mount of the git credentials", `m=$(grep -E 'git-credentials|magents-gateway|secrets/gateway' /proc/self/mountinfo); if [ -n "$m" ] || ls -R /run/secrets /run/magents-secrets 2>/dev/null | grep -q git; then echo PLANTED; echo "$m"; else echo REFUSED; fi`)

	// Its own branch goes through the relay to the real remote.
	docker("exec", a1, "git", "-C", "/workspace", "commit", "-q", "--allow-empty", "-m", "the agent's work").Assert(t, icmd.Success)
	own := strings.TrimSpace(docker("exec", a1, "git", "-C", "/workspace", "rev-parse", "HEAD").Stdout())
	res := docker("exec", a1, "git", "-C", "/workspace", "push", "-q", remote, "HEAD:refs/heads/magents/agent-1")
	res.Assert(t, icmd.Success)
	if got := remoteRef("refs/heads/magents/agent-1"); got != own {
		t.Fatalf("the agent's own branch on the remote is %q, want %s", got, own)
	}
	// Everything else is refused by the relay, by name.
	push := func(args string) string {
		return `if git -C /workspace push ` + args + ` 2>/tmp/push.err; then echo PLANTED; elif grep -q 'docker-magents git relay' /tmp/push.err; then echo REFUSED; else cat /tmp/push.err; fi`
	}
	attempt(t, a1, "push to main through the relay", push(remote+" HEAD:refs/heads/main"))
	attempt(t, a1, "push to another agent's branch", push(remote+" HEAD:refs/heads/magents/agent-2"))
	attempt(t, a1, "push a tag", push(remote+" HEAD:refs/tags/v9"))
	attempt(t, a1, "delete its own branch", push(remote+" :refs/heads/magents/agent-1"))
	attempt(t, a1, "force-push a rewritten branch", `git -C /workspace commit -q --amend --allow-empty -m rewritten && `+push("--force "+remote+" HEAD:refs/heads/magents/agent-1"))
	attempt(t, a1, "fetch a repository the fleet does not name", `if git ls-remote http://127.0.0.1:3128/git/`+strings.TrimPrefix(url, "http://")+`/other.git 2>/tmp/ls.err; then echo PLANTED; elif grep -q 'not a remote of this fleet' /tmp/ls.err; then echo REFUSED; else cat /tmp/ls.err; fi`)
	attempt(t, a1, "push as agent-2 with a forged token", `if git -C /workspace -c credential.helper= -c 'credential.helper=!f() { echo username=agent-2; echo password=forged; }; f' push `+remote+` HEAD:refs/heads/magents/agent-2 2>/tmp/f.err; then echo PLANTED; elif grep -qE '401|Authentication failed' /tmp/f.err; then echo REFUSED; else cat /tmp/f.err; fi`)

	if got := remoteRef("refs/heads/magents/agent-1"); got != own {
		t.Errorf("after the refused pushes the remote's magents/agent-1 is %q, want %s", got, own)
	}
	if remoteRef("refs/heads/main") != mainBefore || remoteRef("refs/heads/magents/agent-2") != "" || remoteRef("refs/tags/v9") != "" {
		t.Errorf("a refused push changed the remote")
	}
	// The gateway's logs name the push, and hold no token.
	if logs := docker("logs", e.container(fleet.EgressProxyService)).Combined(); strings.Contains(logs, canary) {
		t.Errorf("the gateway logged the git token")
	}
}

// TestEscapeForgedLogLines: the supervisor's lines in docker logs are its own. The agent,
// the same UID as tini and the supervisor, tries to write a line of theirs into the
// container's log pipes through their /proc/PID/fd; both programs are execute-only, so
// neither process is dumpable and neither fd opens.
func TestEscapeForgedLogLines(t *testing.T) {
	everyEngine(t, "the engine's log streams and process isolation")
	parallelSuite(t)
	nonce := fmt.Sprint(time.Now().UnixNano())
	e := newFleetEnvWith(t, nonce, nil).inProject("logforge")
	t.Cleanup(func() { e.magents("down", "--volumes", "--force") })
	e.magents("up", "--agent-cmd", "bash").Assert(t, icmd.Success)
	agent := e.container("agent-1")
	marker := "FORGED-" + nonce
	// Fired: it found tini and the supervisor (their comm names) before trying each fd.
	attempt(t, agent, "write a supervisor line into the container's log pipes", `found=0; got=0
for p in /proc/[0-9]*; do
  case "$(cat $p/comm 2>/dev/null)" in
    tini|magents-superv*) found=$((found+1)); for fd in 1 2; do if echo "magents-supervisor: session claude started `+marker+`" > $p/fd/$fd 2>/dev/null; then got=1; fi; done;;
  esac
done
if [ $found -lt 2 ]; then echo "found $found of tini and the supervisor"; elif [ $got = 1 ]; then echo PLANTED; else echo REFUSED; fi`)
	attempt(t, agent, "read the supervisor's environment", `found=0
for p in /proc/[0-9]*; do
  case "$(cat $p/comm 2>/dev/null)" in
    tini|magents-superv*) found=$((found+1)); if cat $p/environ >/dev/null 2>&1; then echo PLANTED; fi;;
  esac
done
[ $found -ge 2 ] && echo REFUSED`)
	if logs := docker("logs", agent).Combined(); strings.Contains(logs, marker) {
		escapesGot.Add(1)
		t.Errorf("a forged line reached docker logs:\n%s", logs)
	}
}

// gatewayAttempt is a script that sends one raw request to the fleet's gateway from
// inside an agent, with the agent's own token unless headers give another, and prints
// REFUSED when the answer is a 4xx that says want.
func gatewayAttempt(method, path, headers, body, want string) string {
	return `bash -s <<'EOF'
tok=$(cat "$MAGENTS_GATEWAY_TOKEN_FILE")
body='` + body + `'
exec 3<>/dev/tcp/127.0.0.1/3128
printf '` + method + ` ` + path + ` HTTP/1.1\r\nHost: api\r\nAuthorization: Bearer %s\r\n` + headers + `Content-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' "$tok" "${#body}" "$body" >&3
resp=$(timeout 10 cat <&3)
if printf '%s' "$resp" | head -n1 | grep -q ' 4[0-9][0-9] ' && printf '%s' "$resp" | grep -qF -- '` + want + `'; then echo REFUSED; else printf 'PLANTED\n%s\n' "$resp"; fi
EOF`
}

// TestEscapeGateway: from inside an agent, as its user, the fleet's gateway relays only
// what it can meter and contain, and keeps the account and the limits to the host.
func TestEscapeGateway(t *testing.T) {
	everyEngine(t, "the engine's networks between agents and the gateway")
	parallelSuite(t)
	nonce := fmt.Sprint(time.Now().UnixNano())
	e := newFleetEnvWith(t, nonce, nil).inProject("gwescape")
	t.Cleanup(func() { e.magents("down", "--volumes", "--force") })
	e.magents("up", "--agent-cmd", "bash", "--budget-usd", "5").Assert(t, icmd.Success)
	agent := e.container("agent-1")
	marker := "gateway-escape-" + nonce
	msg := func(extra string) string {
		return `{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":"` + marker + `"}]` + extra + `}`
	}
	for _, c := range []struct{ name, method, path, headers, body, want string }{
		{"web fetch from Anthropic's servers", "POST", "/v1/messages", "", msg(`,"tools":[{"type":"web_fetch_20250910","name":"web_fetch"}]`), "--gateway-allow web_fetch"},
		{"web search from Anthropic's servers", "POST", "/v1/messages", "", msg(`,"tools":[{"type":"web_search_20250305","name":"web_search"}]`), "--gateway-allow web_search"},
		{"the MCP connector", "POST", "/v1/messages", "", msg(`,"mcp_servers":[{"type":"url","url":"https://evil.example/mcp","name":"x"}]`), "--gateway-allow mcp_servers"},
		{"an unknown beta", "POST", "/v1/messages", `anthropic-beta: files-api-2025-04-14\r\n`, msg(""), "--gateway-allow files-api-2025-04-14"},
		{"a model the price table lacks", "POST", "/v1/messages", "", `{"model":"free-lunch-1","max_tokens":10,"messages":[{"role":"user","content":"` + marker + `"}]}`, "price table"},
		{"the Files API", "GET", "/v1/files", "", "", "Messages API only"},
		{"the account of every agent", "GET", "/magents/usage", "", "", "not for agents"},
		{"raise its own budget", "POST", "/magents/budget", "", `{"agent_usd":1000}`, "not for agents"},
	} {
		attempt(t, agent, c.name, gatewayAttempt(c.method, c.path, c.headers, c.body, c.want))
	}
	// Another agent's token, a forged one.
	attempt(t, agent, "the gateway with a forged token", strings.Replace(gatewayAttempt("POST", "/v1/messages", "", msg(""), "authentication_error"), `tok=$(cat "$MAGENTS_GATEWAY_TOKEN_FILE")`, `tok=magents-gw-forged`, 1))
	// A 33 MiB body, announced and never sent: refused before a byte is read.
	attempt(t, agent, "a body larger than the API takes", `bash -s <<'EOF'
tok=$(cat "$MAGENTS_GATEWAY_TOKEN_FILE")
exec 3<>/dev/tcp/127.0.0.1/3128
printf 'POST /v1/messages HTTP/1.1\r\nHost: api\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 34603008\r\n\r\n' "$tok" >&3
resp=$(timeout 10 head -n1 <&3)
if printf '%s' "$resp" | grep -q ' 413 '; then echo REFUSED; else printf 'PLANTED\n%s\n' "$resp"; fi
EOF`)
	// Last, since it leaves the agent over its budget: a request whose worst case passes it.
	attempt(t, agent, "a request whose worst case passes the budget", gatewayAttempt("POST", "/v1/messages", "",
		`{"model":"claude-opus-4-5","max_tokens":1000000,"messages":[{"role":"user","content":"`+marker+`"}]}`, "reached its budget"))
	for _, r := range e.api.Requests() {
		if r.Mentions(marker) {
			escapesGot.Add(1)
			t.Errorf("a refused request reached the API: %s", r.LastUserText())
		}
	}
	// The budget the agent tried to raise is the host's.
	if out := e.magents("usage", "--format", "json").Stdout(); !strings.Contains(out, `"BudgetUSD":5`) {
		t.Errorf("after the agent's attempts, usage says:\n%s", out)
	}
}
