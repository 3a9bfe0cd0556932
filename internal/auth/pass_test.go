package auth

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// needTools skips when a tool is missing, unless the machine was provisioned for the
// tests (make test sets MAGENTS_REQUIRE_TOOLS=1): then a missing tool is a failure.
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("MAGENTS_REQUIRE_TOOLS") == "1" {
				t.Fatalf("%s is not installed: run hack/provision.sh", tool)
			}
			t.Skipf("%s is not installed (hack/provision.sh installs it)", tool)
		}
	}
}

// The credential store is a real Docker credential helper: docker-credential-pass, with
// pass and a throwaway GPG key. The value lands in the password store, not on disk in
// the project.
func TestPassCredentialHelper(t *testing.T) {
	needTools(t, "pass", "gpg", "gpgconf", "docker-credential-pass")
	gnupg, err := os.MkdirTemp("", "gpg") // short: gpg-agent's socket path has a length limit
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(gnupg) })
	store := t.TempDir()
	t.Setenv("GNUPGHOME", gnupg)
	t.Setenv("PASSWORD_STORE_DIR", store)
	t.Cleanup(func() { _ = exec.Command("gpgconf", "--kill", "gpg-agent").Run() })
	run := func(name string, args ...string) string {
		t.Helper()
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
		return string(out)
	}
	run("gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key", "magents test <test@example.invalid>", "default", "default", "never")
	var fpr string
	for _, line := range strings.Split(run("gpg", "--list-keys", "--with-colons"), "\n") {
		if f := strings.Split(line, ":"); len(f) > 9 && f[0] == "fpr" {
			fpr = f[9]
			break
		}
	}
	run("pass", "init", fpr)

	secrets := filepath.Join(t.TempDir(), "secrets")
	// As the docker CLI guesses it when config.json names no helper: set up, so used.
	s := NewStore("pass", true, "proj", secrets, nil)
	if s.Name() != "credential helper pass" {
		t.Fatalf("store %s", s.Name())
	}
	if c, err := s.Get(); err != nil || c != nil {
		t.Fatalf("empty store: %v %v", c, err)
	}
	c, _ := New("CLAUDE_CODE_OAUTH_TOKEN", "sk-ant-oat01-CANARY-pass")
	if err := s.Put(c); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get()
	if err != nil || got == nil || got.Var != c.Var || got.Value != c.Value {
		t.Fatalf("read back %v %v", got, err)
	}
	if _, err := os.Stat(secrets); err == nil {
		t.Error("with a credential helper, the project's secrets dir was written to")
	}
	// The value is encrypted in the password store, not in plain text anywhere there.
	_ = filepath.Walk(store, func(path string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			if b, _ := os.ReadFile(path); strings.Contains(string(b), "CANARY") {
				t.Errorf("%s holds the value in plain text", path)
			}
		}
		return nil
	})
	// Resolve prefers it to the environment.
	eff, err := Resolve(nil, s, env(map[string]string{"ANTHROPIC_API_KEY": "sk-ant-api03-env"}), 3)
	if err != nil || eff.Source != SourceStored || eff.Credential.Value != c.Value {
		t.Errorf("resolve: %+v %v", eff, err)
	}
	if err := s.Erase(); err != nil {
		t.Fatal(err)
	}
	if c, err := s.Get(); err != nil || c != nil {
		t.Errorf("after erase: %v %v", c, err)
	}
}
