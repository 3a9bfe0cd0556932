//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gotest.tools/v3/icmd"
)

// Every deploy target renders from the CLI into files (0600 where they hold a secret), and
// bad input gets a clear error and writes nothing.
func TestDeployRender(t *testing.T) {
	anyEngine(t, "the renderings, re-read by their consumers")
	e := newFleetEnv(t, "render")
	out := func(name string) string { return filepath.Join(e.dir, "out-"+name) }
	mode := func(path string) os.FileMode {
		st, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		return st.Mode().Perm()
	}

	e.magents("deploy", "k8s", "--agents", "3", "-o", out("k8s")).Assert(t, icmd.Success)
	if m := mode(filepath.Join(out("k8s"), "claude-auth-secret.yaml")); m != 0o600 {
		t.Errorf("the Secret's file is mode %o", m)
	}
	if sts := readFile(filepath.Join(out("k8s"), "claude-agents-statefulset.yaml")); !strings.Contains(sts, "replicas: 3") || strings.Contains(sts, e.apiKey) {
		t.Errorf("statefulset:\n%s", sts)
	}
	// An API key is the gateway's alone: --auth-init has nothing to copy, and says so; each
	// agent's token is copied into its pod instead.
	res := e.magents("deploy", "k8s", "--auth-init")
	res.Assert(t, icmd.Success)
	if !strings.Contains(res.Stdout(), "# claude-agents-statefulset.yaml") || !strings.Contains(res.Stdout(), "name: gateway-token") ||
		strings.Contains(res.Stdout(), "name: auth-init") || !strings.Contains(res.Stderr(), "--auth-init has nothing to copy") {
		t.Errorf("deploy k8s to stdout:\n%s\n%s", res.Stdout(), res.Stderr())
	}

	e.magents("deploy", "ecs", "-o", out("ecs")).Assert(t, icmd.Expected{ExitCode: 1, Err: "--secret-arn"})
	if _, err := os.Stat(out("ecs")); err == nil {
		t.Error("a refused ecs deploy wrote its directory")
	}
	e.magents("deploy", "ecs", "--agents", "2", "-o", out("ecs"), "--region", "eu-west-1", "--efs-id", "fs-1",
		"--secret-arn", "arn:aws:secretsmanager:eu-west-1:1:secret:x", "--execution-role-arn", "arn:aws:iam::1:role/x").Assert(t, icmd.Expected{Err: "each agent holds the fleet's credential itself"})
	for _, f := range []string{"agent-1/task-definition.json", "agent-2/task-definition.json", "ecs-commands.sh"} {
		if _, err := os.Stat(filepath.Join(out("ecs"), f)); err != nil {
			t.Errorf("ecs: %v", err)
		}
	}
	e.magents("deploy", "cloudrun", "-o", out("cloudrun"), "--region", "europe-west1").Assert(t, icmd.Expected{ExitCode: 1, Err: "--service-account"})
	e.magents("deploy", "cloudrun", "-o", out("cloudrun"), "--region", "europe-west1",
		"--service-account", "magents-agents@my-project.iam.gserviceaccount.com").Assert(t, icmd.Expected{Err: "each agent holds the fleet's credential itself"})
	if svc := readFile(filepath.Join(out("cloudrun"), "agent-1", "service.yaml")); !strings.Contains(svc, "magents/claude-agent:cloudrun") {
		t.Errorf("cloudrun service:\n%s", svc)
	}

	// A template directory with a broken template: refused, nothing written.
	broken := filepath.Join(e.dir, "tmpl", "k8s")
	if err := os.MkdirAll(broken, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(broken, "claude-agents-service.yaml.tmpl"), []byte("apiVersion: v1\nkind: Service\nspec:\n  clusterIPP: None\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	e.magents("deploy", "k8s", "--templates", filepath.Join(e.dir, "tmpl"), "-o", out("broken")).Assert(t, icmd.Expected{ExitCode: 1, Err: "unknown field"})
	if _, err := os.Stat(out("broken")); err == nil {
		t.Error("a refused k8s deploy wrote its directory")
	}
	// Without any credential, a target that needs one says so.
	bare := t.TempDir()
	if err := os.Chmod(bare, 0o777); err != nil {
		t.Fatal(err)
	}
	dockerIn(bare, []string{"ANTHROPIC_API_KEY=", "CLAUDE_CODE_OAUTH_TOKEN=", "ANTHROPIC_AUTH_TOKEN=", "HOME=" + bare},
		"magents", "deploy", "k8s", "-o", filepath.Join(bare, "out")).Assert(t, icmd.Expected{ExitCode: 1, Err: "Kubernetes agents get it from a Secret"})
	if _, err := os.Stat(filepath.Join(bare, "out")); err == nil {
		t.Error("a deploy without a credential wrote its directory")
	}
	e.magents("deploy", "nomad").Assert(t, icmd.Expected{ExitCode: 1, Err: "unknown command"})
	e.magents("deploy", "k8s", "--agents", "300").Assert(t, icmd.Expected{ExitCode: 1, Err: "give 1 to 256"})
}
