package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
)

// A write replaces the file whole, with the mode asked for, and leaves no temporary file;
// a secret is 0600 in a 0700 directory, even one that was open before.
func TestWrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "docker-compose.claude.yml")
	for _, content := range []string{"first\n", "second\n"} {
		if err := Write(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(path); err != nil || string(b) != content {
			t.Fatalf("read back %q %v", b, err)
		}
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v", st.Mode())
	}
	secrets := filepath.Join(dir, "secrets")
	if err := os.Mkdir(secrets, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := WriteSecret(filepath.Join(secrets, "key"), []byte("s3cret"), -1, -1); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(filepath.Join(secrets, "key")); st.Mode().Perm() != 0o600 {
		t.Errorf("secret mode %v", st.Mode())
	}
	if st, _ := os.Stat(secrets); st.Mode().Perm() != 0o700 {
		t.Errorf("secret dir mode %v", st.Mode())
	}
	for _, d := range []string{dir, secrets} {
		entries, _ := os.ReadDir(d)
		for _, e := range entries {
			if e.Name()[0] == '.' {
				t.Errorf("a temporary file is left: %s", e.Name())
			}
		}
	}
}
