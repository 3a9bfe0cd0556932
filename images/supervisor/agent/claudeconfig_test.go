package agent

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func TestPrepareConfigDirSeedsFirstRunState(t *testing.T) {
	cfg := Config{ClaudeConfigDir: t.TempDir(), AuthDir: filepath.Join(t.TempDir(), "none"), Workspace: "/workspace"}
	key := "sk-ant-api03-0123456789abcdefghijKLMNOPQRST"
	if err := prepareConfigDir(cfg, key); err != nil {
		t.Fatal(err)
	}
	state := readState(t, cfg)
	if state["hasCompletedOnboarding"] != true {
		t.Error("hasCompletedOnboarding not set")
	}
	ws := state["projects"].(map[string]any)["/workspace"].(map[string]any)
	if ws["hasTrustDialogAccepted"] != true {
		t.Error("/workspace not trusted")
	}
	approved := state["customApiKeyResponses"].(map[string]any)["approved"].([]any)
	if len(approved) != 1 || approved[0] != key[len(key)-20:] {
		t.Errorf("approved = %v, want the key's last 20 characters", approved)
	}
	// Idempotent: a second start keeps one approval.
	if err := prepareConfigDir(cfg, key); err != nil {
		t.Fatal(err)
	}
	if n := len(readState(t, cfg)["customApiKeyResponses"].(map[string]any)["approved"].([]any)); n != 1 {
		t.Errorf("%d approvals after a restart, want 1", n)
	}
	fi, err := os.Stat(filepath.Join(cfg.ClaudeConfigDir, ".claude.json"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf(".claude.json mode = %v, %v; want 0600", fi.Mode().Perm(), err)
	}
}

func TestPrepareConfigDirCopiesAuthMount(t *testing.T) {
	auth := t.TempDir()
	write(t, filepath.Join(auth, ".credentials.json"), `{"claudeAiOauth":{"accessToken":"a"}}`)
	write(t, filepath.Join(auth, ".claude.json"), `{"oauthAccount":{"emailAddress":"dev@example.com"},"hasCompletedOnboarding":false}`)
	write(t, filepath.Join(auth, "settings.json"), `{"model":"opus"}`)
	cfg := Config{ClaudeConfigDir: t.TempDir(), AuthDir: auth, Workspace: "/workspace"}
	// What the volume already had survives unless the host overrides it.
	write(t, filepath.Join(cfg.ClaudeConfigDir, ".claude.json"), `{"numStartups":7}`)
	if err := prepareConfigDir(cfg, ""); err != nil {
		t.Fatal(err)
	}
	state := readState(t, cfg)
	if state["oauthAccount"] == nil || state["numStartups"] != float64(7) || state["hasCompletedOnboarding"] != true {
		t.Errorf("merged state = %v", state)
	}
	for _, name := range []string{".credentials.json", "settings.json"} {
		if _, err := os.Stat(filepath.Join(cfg.ClaudeConfigDir, name)); err != nil {
			t.Errorf("%s not copied: %v", name, err)
		}
	}
}

// A corrupt .claude.json is kept aside, byte for byte, and the state seeded afresh, so
// Claude still starts at its prompt.
func TestPrepareConfigDirRepairsCorruptState(t *testing.T) {
	cfg := Config{ClaudeConfigDir: t.TempDir(), Workspace: "/workspace"}
	write(t, filepath.Join(cfg.ClaudeConfigDir, ".claude.json"), `{not json`)
	if err := prepareConfigDir(cfg, ""); err != nil {
		t.Fatal(err)
	}
	if st := readState(t, cfg); st["hasCompletedOnboarding"] != true {
		t.Errorf("not seeded afresh: %v", st)
	}
	backups, _ := filepath.Glob(filepath.Join(cfg.ClaudeConfigDir, ".claude.json.corrupt-*"))
	if len(backups) != 1 {
		t.Fatalf("backups: %v", backups)
	}
	if b, _ := os.ReadFile(backups[0]); string(b) != `{not json` {
		t.Errorf("the backup holds %q", b)
	}
}

func readState(t *testing.T, cfg Config) map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(cfg.ClaudeConfigDir, ".claude.json"))
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
