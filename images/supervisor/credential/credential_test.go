package credential

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func envFunc(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestResolveCredentialsPrecedenceAndFiles(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	if err := os.WriteFile(keyFile, []byte("sk-ant-api03-fromfile\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Resolve(envFunc(map[string]string{
		"ANTHROPIC_API_KEY_FILE":  keyFile,
		"CLAUDE_CODE_OAUTH_TOKEN": "sk-ant-oat01-env",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Env["ANTHROPIC_API_KEY"]; got != "sk-ant-api03-fromfile" {
		t.Errorf("ANTHROPIC_API_KEY from file = %q", got)
	}
	if c.Method != "api-key" {
		t.Errorf("method = %q, want api-key (an API key outranks an OAuth token)", c.Method)
	}
}

func TestLegacyTokenIsMappedByPrefix(t *testing.T) {
	for tok, want := range map[string]string{
		"sk-ant-oat01-abc": "CLAUDE_CODE_OAUTH_TOKEN",
		"sk-ant-api03-abc": "ANTHROPIC_API_KEY",
	} {
		c, err := Resolve(envFunc(map[string]string{"CLAUDE_AUTH_TOKEN": tok}))
		if err != nil {
			t.Fatal(err)
		}
		if c.Env[want] != tok || len(c.Env) != 1 {
			t.Errorf("%s: got %v, want only %s", tok, keys(c.Env), want)
		}
	}
	_, err := Resolve(envFunc(map[string]string{"CLAUDE_AUTH_TOKEN": "hunter2-secret"}))
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("unknown prefix: err = %v, want an error that does not echo the value", err)
	}
}

func TestMissingSecretFileIsNamed(t *testing.T) {
	_, err := Resolve(envFunc(map[string]string{"ANTHROPIC_API_KEY_FILE": "/nonexistent/key"}))
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/key") {
		t.Fatalf("err = %v, want it to name the missing file", err)
	}
}

func TestAuthMethodCloudProviderWins(t *testing.T) {
	c, err := Resolve(envFunc(map[string]string{"CLAUDE_CODE_USE_BEDROCK": "1", "ANTHROPIC_API_KEY": "sk-ant-api-x"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Method != "bedrock" {
		t.Errorf("method = %q, want bedrock", c.Method)
	}
}

func TestEnvironDropsSecretVariables(t *testing.T) {
	env := Environ([]string{
		"PATH=/bin", "CLAUDE_AUTH_TOKEN=sk-ant-oat-old", "ANTHROPIC_API_KEY_FILE=/run/secrets/k", "HOME=/home/magents",
	}, Credentials{Env: map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": "sk-ant-oat-old"}})
	slices.Sort(env)
	want := []string{"CLAUDE_CODE_OAUTH_TOKEN=sk-ant-oat-old", "HOME=/home/magents", "PATH=/bin"}
	if !slices.Equal(env, want) {
		t.Errorf("Environ = %v, want %v", env, want)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestAgentReadsTheGatewayTokenNotTheCredential(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent-token")
	go func() { time.Sleep(200 * time.Millisecond); os.WriteFile(path, []byte("magents-gw-abc\n"), 0o600) }()
	c, err := Resolve(envFunc(map[string]string{"MAGENTS_GATEWAY_TOKEN_FILE": path}))
	if err != nil || c.Method != "gateway" || c.Env["ANTHROPIC_AUTH_TOKEN"] != "magents-gw-abc" || len(c.Env) != 1 {
		t.Fatalf("%+v %v", c, err)
	}
}
