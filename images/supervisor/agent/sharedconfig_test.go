package agent

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker-magents/docker-magents/images/supervisor/agentconfig"
)

// deliver writes set as compose delivers it: files and manifest in dir.
func deliver(t *testing.T, dir string, set agentconfig.Set, generation string) {
	t.Helper()
	for name, content := range set {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o444); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := json.Marshal(set.Manifest(generation))
	if err := os.WriteFile(filepath.Join(dir, agentconfig.ManifestName), b, 0o444); err != nil {
		t.Fatal(err)
	}
}

func readJSON(t *testing.T, path string) map[string]any {
	t.Helper()
	m, err := readJSONObject(path)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

const self = "/usr/local/bin/magents-supervisor"

func TestSharedConfigPlaced(t *testing.T) {
	cfg := Config{ClaudeConfigDir: t.TempDir(), DeliveredConfig: t.TempDir(), SharedConfig: true, PermissionMode: "acceptEdits"}
	// What the agent had before: its own settings, hooks, MCP server and command.
	os.MkdirAll(filepath.Join(cfg.ClaudeConfigDir, "commands"), 0o700)
	os.WriteFile(filepath.Join(cfg.ClaudeConfigDir, "commands", "mine.md"), []byte("mine"), 0o600)
	os.WriteFile(filepath.Join(cfg.ClaudeConfigDir, "settings.json"), []byte(`{"model":"sonnet","theme":"dark"}`), 0o600)
	os.WriteFile(claudeStatePath(cfg), []byte(`{"hasCompletedOnboarding":true,"mcpServers":{"own":{"command":"own-mcp"}}}`), 0o600)

	set := agentconfig.Set{
		agentconfig.ClaudeMD: "Team rule: write tests first.\n",
		agentconfig.Settings: `{"model":"opus","hooks":{"Stop":[{"hooks":[{"type":"command","command":"notify done"}]}]}}`,
		agentconfig.MCP:      `{"mcpServers":{"docs":{"command":"sh","args":["-c","docs"]},"web":{"type":"http","url":"https://mcp.example"}}}`,
		"commands/review.md": "Review the diff.",
	}
	deliver(t, cfg.DeliveredConfig, set, "2026-11-27T10:00:00Z")
	if err := configureAgent(cfg, self); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(cfg.ClaudeConfigDir, "CLAUDE.md")); string(b) != set[agentconfig.ClaudeMD] {
		t.Errorf("CLAUDE.md: %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(cfg.ClaudeConfigDir, "commands", "review.md")); string(b) != "Review the diff." {
		t.Errorf("command: %q", b)
	}
	settings := readJSON(t, filepath.Join(cfg.ClaudeConfigDir, "settings.json"))
	if settings["model"] != "opus" || settings["theme"] != "dark" {
		t.Errorf("the team's keys win, the agent's others stay: %v", settings)
	}
	stop := settings["hooks"].(map[string]any)["Stop"].([]any)
	if len(stop) != 2 || !strings.Contains(mustJSON(stop[0]), "notify done") || !strings.Contains(mustJSON(stop[1]), "magents-supervisor") || !strings.Contains(mustJSON(stop[1]), "hook Stop") {
		t.Errorf("the supervisor's hook is appended to the team's: %s", mustJSON(stop))
	}
	if settings["permissions"].(map[string]any)["defaultMode"] != "acceptEdits" {
		t.Errorf("permission mode: %v", settings["permissions"])
	}
	servers := readJSON(t, claudeStatePath(cfg))["mcpServers"].(map[string]any)
	if servers["own"] == nil || servers["docs"] == nil || servers["web"] == nil {
		t.Errorf("servers: %v", servers)
	}

	// config sync sends a newer set: no MCP servers, another command, no settings.
	newer := agentconfig.Set{agentconfig.ClaudeMD: "Team rule v2.\n", "commands/ship.md": "Ship it."}
	in, _ := json.Marshal(map[string]any{"generation": "2026-11-27T11:00:00Z", "files": newer})
	var out bytes.Buffer
	if code := ConfigApply(cfg, bytes.NewReader(in), &out); code != 0 {
		t.Fatalf("config apply exited %d", code)
	}
	// A later start still has the synced set: the delivered one is older.
	if err := configureAgent(cfg, self); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(cfg.ClaudeConfigDir, "CLAUDE.md")); string(b) != "Team rule v2.\n" {
		t.Errorf("after sync and a restart, CLAUDE.md: %q", b)
	}
	if _, err := os.Stat(filepath.Join(cfg.ClaudeConfigDir, "commands", "review.md")); err == nil {
		t.Error("the earlier set's command stayed")
	}
	if _, err := os.Stat(filepath.Join(cfg.ClaudeConfigDir, "commands", "mine.md")); err != nil {
		t.Error("the agent's own command was removed")
	}
	settings = readJSON(t, filepath.Join(cfg.ClaudeConfigDir, "settings.json"))
	if _, ok := settings["model"]; ok || settings["theme"] != "dark" {
		t.Errorf("the team's model should be gone with its settings, the agent's theme kept: %v", settings)
	}
	servers = readJSON(t, claudeStatePath(cfg))["mcpServers"].(map[string]any)
	if servers["own"] == nil || servers["docs"] != nil {
		t.Errorf("servers after the set dropped them: %v", servers)
	}

	// A newer delivery (up recreated the container from a newer compose file) wins.
	deliver(t, cfg.DeliveredConfig, agentconfig.Set{agentconfig.ClaudeMD: "Team rule v3.\n"}, "2026-11-27T12:00:00Z")
	if err := configureAgent(cfg, self); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(cfg.ClaudeConfigDir, "CLAUDE.md")); string(b) != "Team rule v3.\n" {
		t.Errorf("after a newer delivery: %q", b)
	}
	if _, err := os.Stat(filepath.Join(stagedDir(cfg), "commands", "ship.md")); err == nil {
		t.Error("the staged dir kept a file the newer set does not list")
	}

	// The fleet drops its shared config: what it placed goes, the agent's own stays.
	cfg.SharedConfig = false
	if err := configureAgent(cfg, self); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(cfg.ClaudeConfigDir, "CLAUDE.md")); err == nil {
		t.Error("CLAUDE.md stayed after the fleet dropped it")
	}
	if _, err := os.Stat(filepath.Join(cfg.ClaudeConfigDir, "commands", "mine.md")); err != nil {
		t.Error("the agent's own command was removed")
	}
}

func TestConfigApplyRefusesBadSets(t *testing.T) {
	cfg := Config{ClaudeConfigDir: t.TempDir(), DeliveredConfig: t.TempDir(), SharedConfig: true}
	for _, files := range []map[string]string{
		{agentconfig.Settings: "{\n  \"model\": opus\n}"},
		{agentconfig.MCP: `{"mcpServers":{"gh":{"command":"gh","env":{"GITHUB_TOKEN":"ghp_x"}}}}`},
		{"../escape.md": "x"},
	} {
		in, _ := json.Marshal(map[string]any{"generation": "2026-11-27T11:00:00Z", "files": files})
		if code := ConfigApply(cfg, bytes.NewReader(in), &bytes.Buffer{}); code == 0 {
			t.Errorf("applied %v", files)
		}
	}
	if _, err := os.Stat(stagedDir(cfg)); err == nil {
		t.Error("a refused set was staged")
	}
}

func TestAgentsOwnClaudeMDKeptAside(t *testing.T) {
	cfg := Config{ClaudeConfigDir: t.TempDir(), DeliveredConfig: t.TempDir(), SharedConfig: true}
	os.WriteFile(filepath.Join(cfg.ClaudeConfigDir, "CLAUDE.md"), []byte("my notes"), 0o600)
	deliver(t, cfg.DeliveredConfig, agentconfig.Set{agentconfig.ClaudeMD: "team"}, "2026-11-27T10:00:00Z")
	if err := configureAgent(cfg, self); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(cfg.ClaudeConfigDir, "CLAUDE.md.agent")); string(b) != "my notes" {
		t.Errorf("the agent's own CLAUDE.md: %q", b)
	}
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

// A delivered set that does not check out changes nothing placed; the hooks still go in.
func TestBadDeliveredSetKeepsHooks(t *testing.T) {
	cfg := Config{ClaudeConfigDir: t.TempDir(), DeliveredConfig: t.TempDir(), SharedConfig: true}
	deliver(t, cfg.DeliveredConfig, agentconfig.Set{agentconfig.Settings: `{"model": }`}, "2026-11-27T10:00:00Z")
	if err := configureAgent(cfg, self); err != nil {
		t.Fatal(err)
	}
	if s := mustJSON(readJSON(t, filepath.Join(cfg.ClaudeConfigDir, "settings.json"))); !strings.Contains(s, "hook Stop") {
		t.Errorf("no hooks: %s", s)
	}
}
