package auth

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const canary = "sk-ant-api03-CANARY-0123456789abcdef"

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestNewRejectsBadValuesWithoutEchoingThem(t *testing.T) {
	for name, v := range map[string]string{
		"empty":      "",
		"newline":    "sk-ant-api03-SECRETPART\nmore",
		"spaces":     "sk-ant-api03 SECRETPART",
		"only a nl":  "\n",
		"tab inside": "sk-ant-api03\tSECRETPART",
	} {
		_, err := New("ANTHROPIC_API_KEY", v)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if strings.Contains(err.Error(), "SECRETPART") {
			t.Errorf("%s: the error shows the value: %v", name, err)
		}
	}
	c, err := New("ANTHROPIC_API_KEY", canary+"\n")
	if err != nil || c.Value != canary {
		t.Errorf("a trailing newline: %v %q", err, c.Value)
	}
	if _, err := New("PATH", "x"); err == nil {
		t.Error("PATH accepted as a credential variable")
	}
}

// Every way a Credential can be printed hides its value.
func TestCredentialNeverPrintsItsValue(t *testing.T) {
	c, _ := New("ANTHROPIC_API_KEY", canary)
	e := Effective{Source: SourceEnv, Credential: &c}
	for _, s := range []string{
		c.String(), fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s", c, c, c, c), fmt.Sprint(&c), e.Describe(),
	} {
		if strings.Contains(s, "CANARY") {
			t.Errorf("printed the value: %s", s)
		}
	}
}

func TestLegacyVariableIsMappedByPrefix(t *testing.T) {
	c, err := FromEnv(env(map[string]string{"CLAUDE_AUTH_TOKEN": "sk-ant-oat01-x"}))
	if err != nil || c.Var != "CLAUDE_CODE_OAUTH_TOKEN" {
		t.Errorf("%v %v", c, err)
	}
	if _, err := FromEnv(env(map[string]string{"CLAUDE_AUTH_TOKEN": "hunter2"})); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("unknown prefix: %v", err)
	}
}

func TestResolvePrecedence(t *testing.T) {
	home := t.TempDir()
	login := filepath.Join(home, ".claude")
	if err := os.MkdirAll(login, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(login, ".credentials.json"), []byte(`{}`), 0o600); err != nil {
		t.Fatal(err)
	}
	store := &fileStore{path: filepath.Join(t.TempDir(), "secrets", "stored")}
	environ := map[string]string{"HOME": home, "ANTHROPIC_API_KEY": "sk-ant-api03-env"}
	flag, _ := New("CLAUDE_CODE_OAUTH_TOKEN", "sk-ant-oat01-flag")
	stored, _ := New("ANTHROPIC_API_KEY", "sk-ant-api03-stored")

	check := func(want string, flag *Credential, agents int) Effective {
		t.Helper()
		e, err := Resolve(flag, store, env(environ), agents)
		if err != nil {
			t.Fatalf("want %s: %v", want, err)
		}
		if e.Source != want {
			t.Fatalf("source %s, want %s", e.Source, want)
		}
		return e
	}
	check(SourceFlag, &flag, 3)
	if err := store.Put(stored); err != nil {
		t.Fatal(err)
	}
	if e := check(SourceStored, nil, 3); e.Credential.Value != "sk-ant-api03-stored" {
		t.Errorf("stored value %q", e.Credential.Value)
	}
	if err := store.Erase(); err != nil {
		t.Fatal(err)
	}
	check(SourceEnv, nil, 3)
	delete(environ, "ANTHROPIC_API_KEY")
	if e := check(SourceHostLogin, nil, 1); e.LoginDir != login {
		t.Errorf("login dir %s", e.LoginDir)
	}
	// A host login is never shared by several agents.
	if _, err := Resolve(nil, store, env(environ), 2); err == nil || !strings.Contains(err.Error(), "auth setup") {
		t.Errorf("two agents on a host login: %v", err)
	}
	environ["HOME"] = t.TempDir()
	if _, err := Resolve(nil, store, env(environ), 1); err != ErrNoCredential {
		t.Errorf("nothing anywhere: %v", err)
	}
}

func TestFileStoreIsPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "secrets")
	s := &fileStore{path: filepath.Join(dir, "stored")}
	c, _ := New("ANTHROPIC_API_KEY", canary)
	if err := s.Put(c); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]os.FileMode{dir: 0o700, s.path: 0o600} {
		st, err := os.Stat(path)
		if err != nil || st.Mode().Perm() != want {
			t.Errorf("%s: %v %v, want %o", path, st.Mode().Perm(), err, want)
		}
	}
	got, err := s.Get()
	if err != nil || got.Value != canary || got.Var != "ANTHROPIC_API_KEY" {
		t.Errorf("read back %v %v", got, err)
	}
	// Nothing half-written is left next to it.
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("secrets dir holds %d entries", len(entries))
	}
}

func TestWriteEnvFileReplacesOnlyCredentials(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".env")
	if err := os.WriteFile(path, []byte("FOO=bar\nANTHROPIC_API_KEY=old\nexport CLAUDE_AUTH_TOKEN=older\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c, _ := New("CLAUDE_CODE_OAUTH_TOKEN", "sk-ant-oat01-new")
	if err := WriteEnvFile(path, c); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if string(b) != "FOO=bar\nCLAUDE_CODE_OAUTH_TOKEN=sk-ant-oat01-new\n" {
		t.Errorf("env file:\n%s", b)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %o", st.Mode().Perm())
	}
}

// A credential helper that fails is a clear error, and nothing is stored anywhere else.
func TestFailingCredentialHelper(t *testing.T) {
	bin := t.TempDir()
	helper := filepath.Join(bin, "docker-credential-broken")
	if err := os.WriteFile(helper, []byte("#!/bin/sh\necho 'the keyring is locked' >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	secrets := filepath.Join(t.TempDir(), "secrets")
	s := NewStore("broken", false, "proj", secrets, nil)
	if !strings.Contains(s.Name(), "credential helper broken") {
		t.Fatalf("store %s", s.Name())
	}
	c, _ := New("ANTHROPIC_API_KEY", canary)
	err := s.Put(c)
	if err == nil || !strings.Contains(err.Error(), "docker-credential-broken") || strings.Contains(err.Error(), "CANARY") {
		t.Errorf("Put: %v", err)
	}
	if _, err := s.Get(); err == nil {
		t.Error("Get from a failing helper succeeded")
	}
	if _, err := os.Stat(secrets); err == nil {
		t.Error("a failing helper left a file behind")
	}
	// A helper the docker CLI only guessed (installed, but not set up) gives way to the file.
	var notes strings.Builder
	g := NewStore("broken", true, "proj", secrets, &notes)
	if err := g.Put(c); err != nil || !strings.HasPrefix(g.Name(), "file ") || !strings.Contains(notes.String(), "not usable") {
		t.Errorf("guessed broken helper: %v, store %s, notes %q", err, g.Name(), notes.String())
	}
	if got, err := g.Get(); err != nil || got == nil || got.Value != canary {
		t.Errorf("read back through the guessed store: %v %v", got, err)
	}
	if err := g.Erase(); err == nil {
		t.Error("erasing through a broken helper reported no error")
	}
	os.RemoveAll(secrets)
	// A helper that is not installed falls back to the private file.
	if s := NewStore("not-installed", false, "proj", secrets, nil); !strings.HasPrefix(s.Name(), "file ") {
		t.Errorf("store %s", s.Name())
	}
}
