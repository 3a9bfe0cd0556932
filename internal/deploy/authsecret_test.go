package deploy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gotest.tools/v3/golden"

	"github.com/docker-magents/docker-magents/internal/auth"
)

var testCred = func() auth.Credential {
	c, _ := auth.New("CLAUDE_CODE_OAUTH_TOKEN", `sk-ant-oat01-test"quote\value`)
	return c
}()

func TestAuthSecretK8sGolden(t *testing.T) {
	b, err := AuthSecretK8s("", "magents", testCred)
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, string(b), "claude-auth-secret.yaml")
}

func TestAuthSecretECSGolden(t *testing.T) {
	create, task, err := AuthSecretECS("", "magents", testCred, "arn:aws:secretsmanager:REGION:ACCOUNT:secret:docker-magents/claude-auth-magents")
	if err != nil {
		t.Fatal(err)
	}
	golden.Assert(t, string(create), "create-secret.json")
	golden.Assert(t, string(task), "task-secrets.json")
}

// An override template that is not a valid Secret is refused before it is written.
func TestBrokenOverrideTemplateIsRefused(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "k8s"), 0o755); err != nil {
		t.Fatal(err)
	}
	bad := "apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\n  colour: blue\n"
	if err := os.WriteFile(filepath.Join(dir, "k8s", "claude-auth-secret.yaml.tmpl"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := AuthSecretK8s(dir, "magents", testCred); err == nil || !strings.Contains(err.Error(), "colour") {
		t.Errorf("err = %v, want an unknown-field error", err)
	}
}
