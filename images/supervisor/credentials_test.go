package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
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
	c, err := resolveCredentials(envFunc(map[string]string{
		"ANTHROPIC_API_KEY_FILE":  keyFile,
		"CLAUDE_CODE_OAUTH_TOKEN": "sk-ant-oat01-env",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.env["ANTHROPIC_API_KEY"]; got != "sk-ant-api03-fromfile" {
		t.Errorf("ANTHROPIC_API_KEY from file = %q", got)
	}
	if c.method != "api-key" {
		t.Errorf("method = %q, want api-key (an API key outranks an OAuth token)", c.method)
	}
}

func TestLegacyTokenIsMappedByPrefix(t *testing.T) {
	for tok, want := range map[string]string{
		"sk-ant-oat01-abc": "CLAUDE_CODE_OAUTH_TOKEN",
		"sk-ant-api03-abc": "ANTHROPIC_API_KEY",
	} {
		c, err := resolveCredentials(envFunc(map[string]string{"CLAUDE_AUTH_TOKEN": tok}))
		if err != nil {
			t.Fatal(err)
		}
		if c.env[want] != tok || len(c.env) != 1 {
			t.Errorf("%s: got %v, want only %s", tok, keys(c.env), want)
		}
	}
	_, err := resolveCredentials(envFunc(map[string]string{"CLAUDE_AUTH_TOKEN": "hunter2-secret"}))
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("unknown prefix: err = %v, want an error that does not echo the value", err)
	}
}

func TestMissingSecretFileIsNamed(t *testing.T) {
	_, err := resolveCredentials(envFunc(map[string]string{"ANTHROPIC_API_KEY_FILE": "/nonexistent/key"}))
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/key") {
		t.Fatalf("err = %v, want it to name the missing file", err)
	}
}

func TestAuthMethodCloudProviderWins(t *testing.T) {
	c, err := resolveCredentials(envFunc(map[string]string{"CLAUDE_CODE_USE_BEDROCK": "1", "ANTHROPIC_API_KEY": "sk-ant-api-x"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.method != "bedrock" {
		t.Errorf("method = %q, want bedrock", c.method)
	}
}

func TestAgentEnvDropsSecretVariables(t *testing.T) {
	env := agentEnv([]string{
		"PATH=/bin", "CLAUDE_AUTH_TOKEN=sk-ant-oat-old", "ANTHROPIC_API_KEY_FILE=/run/secrets/k", "HOME=/home/magents",
	}, credentials{env: map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": "sk-ant-oat-old"}})
	slices.Sort(env)
	want := []string{"CLAUDE_CODE_OAUTH_TOKEN=sk-ant-oat-old", "HOME=/home/magents", "PATH=/bin"}
	if !slices.Equal(env, want) {
		t.Errorf("agentEnv = %v, want %v", env, want)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
