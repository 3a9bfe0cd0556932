package compose

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gotest.tools/v3/golden"

	"github.com/docker-magents/docker-magents/images/supervisor/agentconfig"
	"github.com/docker-magents/docker-magents/internal/fleet"
)

func testFleet(agents int) *fleet.Fleet {
	f := fleet.New("magents", "/home/dev/project/docker-compose.claude.yml")
	f.Agents = agents
	return f
}

// Golden files: go test ./compose -update refreshes them.
func TestRenderGolden(t *testing.T) {
	cases := map[string]func() *fleet.Fleet{
		"one-agent":  func() *fleet.Fleet { return testFleet(1) },
		"two-agents": func() *fleet.Fleet { f := testFleet(2); f.Credential = "ANTHROPIC_API_KEY"; return f },
		"gateway-budgets": func() *fleet.Fleet {
			f := testFleet(2)
			f.Credential, f.BudgetUSD, f.FleetBudgetUSD = "ANTHROPIC_AUTH_TOKEN", 5, 12.5
			f.GatewayAllow = []string{"web_search", "files-api-2025-04-14"}
			return f
		},
		"oauth-no-gateway": func() *fleet.Fleet { f := testFleet(1); f.Credential = "CLAUDE_CODE_OAUTH_TOKEN"; return f },
		"many-agents":      func() *fleet.Fleet { f := testFleet(12); f.CPUs = 2; f.Memory = "2g"; f.User = "1001:1001"; return f },
		"dev-and-agents":   func() *fleet.Fleet { f := testFleet(2); f.Dev = true; f.Project = "team-a"; return f },
		"tasks": func() *fleet.Fleet {
			f := testFleet(2)
			f.Tasks, f.PermissionMode = []string{"Write the parser", "Test it"}, "acceptEdits"
			return f
		},
		"literal-values": func() *fleet.Fleet {
			f := testFleet(1)
			f.Tasks, f.AgentCmd = []string{"print $SECRETPROBE, then ${HOME} and $$"}, `bash -c 'echo "${1:-x}"'`
			f.Config.GitUserName, f.Config.GitUserEmail = "A $ign", "dev+${x}@example.com"
			return f
		},
		"egress-allowlist": func() *fleet.Fleet {
			f := testFleet(2)
			f.Egress, f.Allow = fleet.EgressAllowlist, []string{"gateway.example.com", "*.internal.example.com"}
			return f
		},
		// An engine with start_interval: checks every second while starting, every 5 minutes after.
		"engine25-health": func() *fleet.Fleet {
			f := testFleet(1)
			f.Egress, f.HealthStartInterval = fleet.EgressAllowlist, true
			return f
		},
		"egress-ipv6": func() *fleet.Fleet {
			f := testFleet(1)
			f.Egress, f.IPv6 = fleet.EgressAllowlist, true
			return f
		},
		"open-ipv6": func() *fleet.Fleet {
			f := testFleet(1)
			f.Egress, f.IPv6 = fleet.EgressOpen, true
			return f
		},
		"shared-config": func() *fleet.Fleet {
			f := testFleet(2)
			f.Config = fleet.AgentConfig{ClaudeMD: "/home/dev/team/CLAUDE.md", Settings: "./claude-settings.json", MCP: "./.mcp.json",
				Commands: "./commands", GitUserName: "Dev Team", GitUserEmail: "dev@example.com", GitCredentials: "/home/dev/.git-credentials",
				Generation: "2026-11-27T10:00:00Z", Digest: "sha256:x"}
			f.GitRemotes = []string{"https://github.com/example/app", "https://git.example.com/team/tools"}
			f.ConfigSet = agentconfig.Set{
				agentconfig.ClaudeMD: "# Team\nCosts are in $USD; keep ${HOME} literal.\n",
				agentconfig.Settings: `{"model": "opus"}`,
				agentconfig.MCP:      `{"mcpServers": {"docs": {"command": "docs-mcp", "env": {"TOKEN": "${DOCS_TOKEN}"}}}}`,
				"commands/review.md": "Review $ARGUMENTS.\n",
			}
			return f
		},
		"hardened": func() *fleet.Fleet {
			f := testFleet(1)
			f.ReadOnlyRootfs, f.Pids, f.CPUs, f.AgentCmd = true, 256, 1.5, "bash"
			return f
		},
		"clones": func() *fleet.Fleet {
			f := testFleet(2)
			f.Isolation, f.Base, f.Includes = "clone", "main", []string{".env", "config/local.yml"}
			return f
		},
		"worktrees": func() *fleet.Fleet {
			f := testFleet(2)
			f.Isolation, f.GitDir, f.Includes = "worktree", "/home/dev/project/.git", []string{".env"}
			return f
		},
	}
	for name, mk := range cases {
		t.Run(name, func(t *testing.T) {
			b, err := Render(context.Background(), mk())
			if err != nil {
				t.Fatal(err)
			}
			golden.Assert(t, string(b), name+".yml")
		})
	}
}

// What is written reads back as the same fleet.
func TestReadFleetRoundTrip(t *testing.T) {
	dir := t.TempDir()
	f := fleet.New("proj", filepath.Join(dir, fleet.DefaultFile))
	f.Agents, f.CPUs, f.Dev, f.Credential = 3, 1.5, true, "CLAUDE_CODE_OAUTH_TOKEN"
	f.PermissionMode, f.Tasks = "plan", []string{"Plan the refactor"}
	b, err := Render(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.ComposeFile, b, 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFleet(f.ComposeFile)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprintf("%+v", *got) != fmt.Sprintf("%+v", *f) {
		t.Errorf("read back\n%+v\nwant\n%+v", *got, *f)
	}
}

func TestReadFleetRefusesForeignFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "compose.yml")
	if err := os.WriteFile(path, []byte("services:\n  web:\n    image: nginx\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFleet(path); err == nil {
		t.Fatal("a compose file without x-magents was taken for a fleet")
	}
	if f, err := ReadFleet(filepath.Join(t.TempDir(), "missing.yml")); f != nil || err != nil {
		t.Fatalf("missing file: %v, %v", f, err)
	}
}

func TestStackGolden(t *testing.T) {
	secret := &StackSecret{Var: "CLAUDE_CODE_OAUTH_TOKEN", File: "/home/dev/project/.magents/secrets/agents/CLAUDE_CODE_OAUTH_TOKEN", Name: "claude-auth-magents-0123abcd"}
	configs := []StackConfig{
		{Key: "magents-claude-md", Name: "magents-claude-md-5d862f9434f5", File: "/home/dev/project/.magents/swarm-config/CLAUDE.md", Path: "CLAUDE.md"},
		{Key: "magents-manifest-json", Name: "magents-manifest-json-0a1b2c3d4e5f", File: "/home/dev/project/.magents/swarm-config/manifest.json", Path: "manifest.json"},
	}
	for name, mk := range map[string]func() *fleet.Fleet{
		"stack-one-agent": func() *fleet.Fleet { return testFleet(1) },
		"stack-shared-config": func() *fleet.Fleet {
			f := testFleet(2)
			f.Config.GitUserName, f.Config.GitUserEmail = "Team Bot", "bot@example.invalid"
			return f
		},
		"stack-gateway": func() *fleet.Fleet {
			f := testFleet(2)
			f.BudgetUSD, f.GatewayAllow = 5, []string{"web_search"}
			return f
		},
		"stack-three-agents": func() *fleet.Fleet {
			f := testFleet(3)
			f.CPUs, f.Tasks, f.PermissionMode = 2, []string{"Write the parser", "Test it"}, "acceptEdits"
			return f
		},
	} {
		t.Run(name, func(t *testing.T) {
			var cs []StackConfig
			if name == "stack-shared-config" {
				cs = configs
			}
			s := secret
			var gw *StackGateway
			if name == "stack-gateway" {
				// An API key, which the gateway relays: the agents have their tokens alone.
				s = &StackSecret{Var: "ANTHROPIC_API_KEY", File: "/home/dev/project/.magents/secrets/gateway/anthropic_api_key", Name: "claude-auth-magents-4567cdef"}
				gw = &StackGateway{
					Key: StackSecret{File: "/home/dev/project/.magents/secrets/gateway/key", Name: "magents-key-magents-89ab0123"},
					Tokens: map[string]StackSecret{
						"agent-1": {File: "/home/dev/project/.magents/secrets/gateway/tokens/agent-1", Name: "magents-token-magents-agent-1-0a0a0a0a"},
						"agent-2": {File: "/home/dev/project/.magents/secrets/gateway/tokens/agent-2", Name: "magents-token-magents-agent-2-0b0b0b0b"},
					},
					Relays: true,
				}
			}
			b, err := Stack(mk(), s, map[string]string{"ANTHROPIC_BASE_URL": "https://gateway.example.com"}, cs, gw)
			if err != nil {
				t.Fatal(err)
			}
			golden.Assert(t, string(b), name+".yml")
		})
	}
}

// docker stack deploy's loader refuses what compose accepts: the stack validation must
// too, or it proves nothing.
func TestValidateStackRefusesWhatStackDeployRefuses(t *testing.T) {
	for name, doc := range map[string]string{
		"compose's top-level name": "version: \"3.9\"\nname: x\nservices:\n  a:\n    image: busybox\n",
		"no version":               "services:\n  a:\n    image: busybox\n",
		"an unknown field":         "version: \"3.9\"\nservices:\n  a:\n    image: busybox\n    mem_limitt: 1g\n",
		"build":                    "version: \"3.9\"\nservices:\n  a:\n    image: busybox\n    build: .\n",
	} {
		if err := ValidateStack([]byte(doc), t.TempDir()); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestWriteStackConfigs(t *testing.T) {
	f := testFleet(1)
	f.Config.Generation = "2026-11-27T10:00:00Z"
	f.ConfigSet = agentconfig.Set{agentconfig.ClaudeMD: "rules", "commands/go/test.md": "test"}
	dir := t.TempDir()
	cs, err := WriteStackConfigs(f, dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 3 {
		t.Fatalf("configs: %+v", cs)
	}
	for _, c := range cs {
		b, err := os.ReadFile(c.File)
		if err != nil || !strings.HasPrefix(c.File, dir) || !strings.HasPrefix(c.Name, "magents-") {
			t.Errorf("%+v: %v", c, err)
		}
		if c.Path == "commands/go/test.md" && string(b) != "test" {
			t.Errorf("command file: %q", b)
		}
	}
	// Another content, another name: Swarm configs cannot change.
	f.ConfigSet[agentconfig.ClaudeMD] = "rules v2"
	cs2, _ := WriteStackConfigs(f, dir)
	if cs[0].Path != agentconfig.ClaudeMD || cs2[0].Name == cs[0].Name {
		t.Errorf("names %s and %s", cs[0].Name, cs2[0].Name)
	}
	if b, err := Stack(f, nil, nil, cs2, nil); err != nil || !strings.Contains(string(b), "target: /etc/magents/config/commands/go/test.md") {
		t.Errorf("stack: %v\n%s", err, b)
	}
}

// In a shared workspace, the fleet's own files that exist there are hidden from the
// agents: the compose file, the state dir, the env files, config sources, the include
// list and any other trusted path (the compose file and state dir before up makes them);
// what lies outside the workspace is not mounted at all; a repository's .git is read-only.
func TestMasksHideTheFleetsOwnFiles(t *testing.T) {
	dir := t.TempDir()
	f := fleet.New("magents", filepath.Join(dir, fleet.DefaultFile))
	f.Isolation = "shared"
	f.Config.ClaudeMD, f.Config.Commands = "./team/CLAUDE.md", "./team/commands"
	f.HostTrusted = []string{filepath.Join(dir, "dockercfg"), "/elsewhere/dockercfg"}
	for _, p := range []string{".env.magents", ".env", ".magentsinclude", "team/CLAUDE.md", "src/main.go", ".git/config"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"team/commands", "dockercfg"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	b, err := Render(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Load(context.Background(), f.ComposeFile, b)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, v := range p.Services["agent-1"].Volumes {
		got[v.Target] = v.Type + " " + strings.Replace(v.Source, f.MaskFile(), "MASK", 1) + fmt.Sprint(" ro=", v.ReadOnly)
		if v.Type == "tmpfs" && (v.Tmpfs == nil || v.Tmpfs.Mode != 0o555) {
			t.Errorf("%s: a tmpfs agents could write", v.Target)
		}
	}
	want := map[string]string{
		"/workspace/" + fleet.DefaultFile: "bind MASK ro=true",
		"/workspace/.env.magents":         "bind MASK ro=true",
		"/workspace/.env":                 "bind MASK ro=true",
		"/workspace/.magentsinclude":      "bind MASK ro=true",
		"/workspace/team/CLAUDE.md":       "bind MASK ro=true",
		"/workspace/.magents":             "tmpfs  ro=false",
		"/workspace/team/commands":        "tmpfs  ro=false",
		"/workspace/dockercfg":            "tmpfs  ro=false",
		"/workspace/.git":                 "bind " + filepath.Join(dir, ".git") + " ro=true",
	}
	for target, w := range want {
		if got[target] != w {
			t.Errorf("%s: %q, want %q", target, got[target], w)
		}
	}
	for target := range got {
		if strings.Contains(target, "src") || strings.Contains(target, "elsewhere") {
			t.Errorf("masked %s", target)
		}
	}
	// A clone agent sees nothing of the host's tree but its git dir, read-only, and the
	// included files the host staged.
	f.Isolation, f.GitDir = "clone", filepath.Join(dir, ".git")
	b, err = Render(context.Background(), f)
	if err != nil {
		t.Fatal(err)
	}
	p, err = Load(context.Background(), f.ComposeFile, b)
	if err != nil {
		t.Fatal(err)
	}
	binds := map[string]string{}
	for _, v := range p.Services["agent-1"].Volumes {
		if v.Type == "bind" {
			binds[v.Target] = v.Source + fmt.Sprint(" ro=", v.ReadOnly)
		}
	}
	if binds[fleet.OriginMountPath] != filepath.Join(dir, ".git")+" ro=true" || binds[fleet.IncludeMountPath] != f.IncludeStage()+" ro=true" || len(binds) != 3 ||
		binds[fleet.EgressSocketMount] != filepath.Join(f.EgressSocketsDir(), "agent-1")+" ro=false" {
		t.Errorf("a clone agent's binds: %v", binds)
	}
	// A worktree agent: the same, with its clone in its directory on the host.
	f.Isolation = "worktree"
	if b, err = Render(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	if p, err = Load(context.Background(), f.ComposeFile, b); err != nil {
		t.Fatal(err)
	}
	clear(binds)
	for _, v := range p.Services["agent-1"].Volumes {
		if v.Type == "bind" {
			binds[v.Target] = v.Source + fmt.Sprint(" ro=", v.ReadOnly)
		}
	}
	if binds[fleet.WorkspaceDir] != f.WorktreeDir("agent-1")+" ro=false" || binds[fleet.OriginMountPath] != filepath.Join(dir, ".git")+" ro=true" || len(binds) != 4 {
		t.Errorf("a worktree agent's binds: %v", binds)
	}
	// Agents that cannot read the git dir get the seed up bundled instead.
	f.CloneSeed = true
	if p, err = Project(f); err != nil {
		t.Fatal(err)
	}
	clear(binds)
	for _, v := range p.Services["agent-1"].Volumes {
		if v.Type == "bind" {
			binds[v.Target] = v.Source + fmt.Sprint(" ro=", v.ReadOnly)
		}
	}
	if _, ok := binds[fleet.OriginMountPath]; ok || binds[fleet.SeedMountPath] != fleet.SeedRel+" ro=true" ||
		*p.Services["agent-1"].Environment["MAGENTS_CLONE_FROM"] != fleet.SeedMountPath+"/"+fleet.SeedBundle {
		t.Errorf("a seeded agent's binds: %v", binds)
	}
}

// A host login reaches the agent as the files the supervisor reads, read-only: never the
// rest of the login dir (projects' history and transcripts).
func TestHostLoginMountsOnlyItsFiles(t *testing.T) {
	login := t.TempDir()
	for _, p := range []string{".credentials.json", "settings.json", "projects/secret-project/transcript.jsonl", "history.jsonl"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(login, p)), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(login, p), []byte("{}"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	f := testFleet(1)
	f.AuthLogin = login
	p, err := Project(f)
	if err != nil {
		t.Fatal(err)
	}
	var auth []string
	for _, v := range p.Services["agent-1"].Volumes {
		if strings.HasPrefix(v.Target, fleet.AuthMountPath) {
			if !v.ReadOnly || v.Source != filepath.Join(login, strings.TrimPrefix(v.Target, fleet.AuthMountPath+"/")) {
				t.Errorf("mount %+v", v)
			}
			auth = append(auth, v.Target)
		}
	}
	if strings.Join(auth, ",") != "/auth/.credentials.json,/auth/settings.json" {
		t.Errorf("the agent gets %v of the host login", auth)
	}
}
