package gitcredential

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGitCredential(t *testing.T) {
	file := filepath.Join(t.TempDir(), "git-credentials")
	os.WriteFile(file, []byte("https://bot:tok1@github.com\nhttps://other:tok2@git.example.com:8443\n\n"), 0o600)
	t.Setenv("MAGENTS_GIT_CREDENTIALS", file)
	ask := func(action, in string) string {
		var out bytes.Buffer
		if code := Run([]string{action}, strings.NewReader(in), &out); code != 0 {
			t.Fatalf("%s exited %d", action, code)
		}
		return out.String()
	}
	if got := ask("get", "protocol=https\nhost=github.com\n"); got != "username=bot\npassword=tok1\n" {
		t.Errorf("github.com: %q", got)
	}
	if got := ask("get", "protocol=https\nhost=git.example.com:8443\nusername=other\n"); got != "username=other\npassword=tok2\n" {
		t.Errorf("with a port and username: %q", got)
	}
	for _, in := range []string{"protocol=http\nhost=github.com\n", "protocol=https\nhost=gitlab.com\n", "protocol=https\nhost=github.com\nusername=someone\n"} {
		if got := ask("get", in); got != "" {
			t.Errorf("%q answered %q", in, got)
		}
	}
	// store and erase change nothing.
	ask("store", "protocol=https\nhost=new.example\nusername=u\npassword=p\n")
	ask("erase", "protocol=https\nhost=github.com\n")
	if b, _ := os.ReadFile(file); !strings.Contains(string(b), "tok1") || strings.Contains(string(b), "new.example") {
		t.Errorf("the file changed: %s", b)
	}
}
