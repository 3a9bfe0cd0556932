package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker-magents/docker-magents/images/supervisor/agentstate"
)

func TestEnvStatusNeverShowsSecrets(t *testing.T) {
	env := map[string]string{
		"ANTHROPIC_BASE_URL": "https://user:s3cret-pass@gateway.example:8443/v1",
		"HTTPS_PROXY":        "http://proxyuser:pr0xy-pass@proxy.example:3128",
		"ANTHROPIC_API_KEY":  "sk-ant-api03-SECRET",
		"CLAUDE_CONFIG_DIR":  "/home/magents/.claude",
	}
	name, status, detail, _ := envStatus(func(k string) string { return env[k] })
	if name != "environment" || status != agentstate.CheckOK {
		t.Errorf("status %s: %s", status, detail)
	}
	for _, secret := range []string{"s3cret", "pr0xy", "SECRET", "user:"} {
		if strings.Contains(detail, secret) {
			t.Errorf("detail shows %q: %s", secret, detail)
		}
	}
	if !strings.Contains(detail, "gateway.example:8443") || !strings.Contains(detail, "proxy.example:3128") {
		t.Errorf("detail lacks the endpoints: %s", detail)
	}

	env = map[string]string{"ANTHROPIC_BASE_URL": "gateway.example"}
	if _, status, _, fix := envStatus(func(k string) string { return env[k] }); status != agentstate.CheckFail || fix == "" {
		t.Errorf("a base URL without a scheme: %s (fix %q)", status, fix)
	}
	env = map[string]string{"SSL_CERT_FILE": "/nonexistent/ca.pem", "CLAUDE_CONFIG_DIR": "/x"}
	if _, status, detail, _ := envStatus(func(k string) string { return env[k] }); status != agentstate.CheckWarn || !strings.Contains(detail, "/nonexistent/ca.pem") {
		t.Errorf("a missing CA bundle: %s %s", status, detail)
	}
}

// TestAgentChecks: a config dir that cannot be written and a credential file that cannot
// be read fail, each with a fix; the failing credential is named, never shown.
func TestAgentChecks(t *testing.T) {
	dir := t.TempDir()
	// A file where the directory should be: not writable as a directory, even by root.
	ro := filepath.Join(dir, "not-a-dir")
	if err := os.WriteFile(ro, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := Config{ClaudeConfigDir: ro, Workspace: dir, Session: "claude-doctor-test"}
	env := map[string]string{"ANTHROPIC_API_KEY_FILE": filepath.Join(dir, "missing")}
	checks := agentChecks(cfg, func(k string) string { return env[k] })
	byName := map[string]agentstate.Check{}
	for _, c := range checks {
		byName[c.Name] = c
	}
	for name, want := range map[string]agentstate.CheckStatus{
		"config dir": agentstate.CheckFail, "workspace": agentstate.CheckOK, "credential": agentstate.CheckFail, "tmux": agentstate.CheckFail,
	} {
		if c := byName[name]; c.Status != want || (want == agentstate.CheckFail && c.Fix == "") {
			t.Errorf("%s: %+v, want %s with a fix", name, c, want)
		}
	}
}
