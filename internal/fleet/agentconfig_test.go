package fleet

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestLoadConfigSet(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, content string) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("team/CLAUDE.md", "rules")
	write("settings.json", `{"model": "opus"}`)
	write("cmds/review.md", "review")
	write("cmds/go/test.md", "test")
	write("cmds/notes.txt", "not a command")
	write("cmds/.hidden/x.md", "hidden")
	f := New("p", filepath.Join(dir, DefaultFile))
	f.Config = AgentConfig{ClaudeMD: "./team/CLAUDE.md", Settings: filepath.Join(dir, "settings.json"), Commands: "./cmds"}
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	if err := f.LoadConfigSet(t0); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(f.ConfigSet.Names(), " "); got != "CLAUDE.md commands/go/test.md commands/review.md settings.json" {
		t.Errorf("set: %s", got)
	}
	gen := f.Config.Generation
	if gen != "2026-11-27T10:00:00Z" || f.Config.Digest == "" {
		t.Errorf("generation %q digest %q", gen, f.Config.Digest)
	}
	// Unchanged files keep the generation; a change makes a new one.
	if err := f.LoadConfigSet(t0.Add(time.Hour)); err != nil || f.Config.Generation != gen {
		t.Errorf("unchanged set: generation %q, %v", f.Config.Generation, err)
	}
	write("team/CLAUDE.md", "rules v2")
	if err := f.LoadConfigSet(t0.Add(2 * time.Hour)); err != nil || f.Config.Generation == gen {
		t.Errorf("changed set: generation %q, %v", f.Config.Generation, err)
	}

	write("settings.json", "{\n  \"model\": opus\n}")
	if err := f.LoadConfigSet(t0); err == nil || !strings.Contains(err.Error(), "settings.json: line 2, column 12") {
		t.Errorf("bad settings: %v", err)
	}
	f.Config.Settings = "./missing.json"
	if err := f.LoadConfigSet(t0); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("a missing file: %v", err)
	}
	// Nothing shared: no set, no generation.
	f.Config = AgentConfig{GitUserName: "x"}
	if err := f.LoadConfigSet(t0); err != nil || f.ConfigSet != nil || f.Config.Generation != "" {
		t.Errorf("no files: %v %v %q", f.ConfigSet, err, f.Config.Generation)
	}
}

func TestValidateReadOnlyRootfsWithSharedConfig(t *testing.T) {
	f := New("p", "/x/"+DefaultFile)
	f.ReadOnlyRootfs, f.Config.ClaudeMD = true, "./CLAUDE.md"
	if err := f.Validate(); err == nil || !strings.Contains(err.Error(), "--read-only-rootfs") {
		t.Errorf("got %v", err)
	}
}

func TestWriteGitCredentials(t *testing.T) {
	dir := t.TempDir()
	f := New("p", filepath.Join(dir, DefaultFile))
	f.User = fmt.Sprintf("%d:%d", os.Getuid(), os.Getgid())
	src := filepath.Join(dir, "creds")
	os.WriteFile(src, []byte("https://bot:ghp_secret1@github.com\nnot a url with secret2\n"), 0o600)
	f.Config.GitCredentials = src
	err := f.WriteGitCredentials()
	if err == nil || !strings.Contains(err.Error(), "line 2") || strings.Contains(err.Error(), "secret") {
		t.Errorf("a bad line: %v", err)
	}
	os.WriteFile(src, []byte("https://bot:ghp_secret1@github.com\n"), 0o600)
	if err := f.WriteGitCredentials(); err != nil {
		t.Fatal(err)
	}
	// An earlier docker-magents' copy in the agents' secrets is removed.
	old := filepath.Join(f.AgentSecretsDir(), GitCredentialsFile)
	os.MkdirAll(f.AgentSecretsDir(), 0o700)
	os.WriteFile(old, []byte("https://bot:ghp_old@github.com\n"), 0o600)
	if err := f.WriteGitCredentials(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(old); err == nil {
		t.Error("the agents' secrets still hold the git credentials")
	}
	copied := filepath.Join(f.GatewaySecretsDir(), GitCredentialsFile)
	if b, err := os.ReadFile(copied); err != nil || !strings.Contains(string(b), "ghp_secret1") {
		t.Errorf("copy: %q %v", b, err)
	}
	if st, _ := os.Stat(copied); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", st.Mode())
	}
	// The agents' credential is written beside it and keeps it.
	if err := f.WriteAgentCredential("ANTHROPIC_API_KEY", "sk-ant-x"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(copied); err != nil {
		t.Error("writing the agents' credential removed the git credentials")
	}
	f.Config.GitCredentials = ""
	if err := f.WriteGitCredentials(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(copied); err == nil {
		t.Error("dropped git credentials stayed")
	}
}
