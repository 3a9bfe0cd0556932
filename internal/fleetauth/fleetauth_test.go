package fleetauth

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/docker/cli/cli/command"
)

func TestReadNamesAFileCredentialByItsPrefix(t *testing.T) {
	dir := t.TempDir()
	oat := filepath.Join(dir, "oat")
	key := filepath.Join(dir, "key")
	os.WriteFile(oat, []byte("sk-ant-oat01-abcdefghijklmnop\n"), 0o600)
	os.WriteFile(key, []byte("sk-ant-api03-abcdefghijklmnop\n"), 0o600)
	cli, err := command.NewDockerCli()
	if err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{oat: "CLAUDE_CODE_OAUTH_TOKEN", key: "ANTHROPIC_API_KEY"} {
		c, err := Read(cli, false, false, file)
		if err != nil {
			t.Fatal(err)
		}
		if c.Var != want {
			t.Errorf("%s read as %s, want %s", filepath.Base(file), c.Var, want)
		}
	}
	if c, err := Read(cli, false, false, ""); c != nil || err != nil {
		t.Errorf("no source gave %v, %v", c, err)
	}
	if _, err := FileFlags(cli, key, oat); err == nil {
		t.Error("both --api-key-file and --oauth-token-file accepted")
	}
	if c, err := FileFlags(cli, "", oat); err != nil || c.Var != "CLAUDE_CODE_OAUTH_TOKEN" {
		t.Errorf("--oauth-token-file gave %v, %v", c, err)
	}
}
