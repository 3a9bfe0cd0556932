package main

import (
	"io/fs"
	"strings"
	"testing"

	"github.com/docker-magents/docker-magents/images/supervisor/agentconfig"
	"github.com/docker-magents/docker-magents/internal/fleet"
)

func TestConfigContext(t *testing.T) {
	f := fleet.New("team", "/x/docker-compose.claude.yml")
	f.Config = fleet.AgentConfig{GitUserName: `Dev "The Bot" $USER`, GitUserEmail: "bot@example.invalid", Generation: "2026-11-27T10:00:00Z"}
	f.ConfigSet = agentconfig.Set{agentconfig.ClaudeMD: "rules", "commands/go/test.md": "test"}
	ctx, err := configContext(f, "magents/claude-agent:latest")
	if err != nil {
		t.Fatal(err)
	}
	df, _ := fs.ReadFile(ctx, "Dockerfile")
	for _, want := range []string{
		"FROM magents/claude-agent:latest\n",
		"COPY config/ /etc/magents/config/\n",
		"ENV MAGENTS_SHARED_CONFIG=\"1\"\n",
		"ENV GIT_CONFIG_KEY_0=\"user.name\"\n",
		`ENV GIT_CONFIG_VALUE_0="Dev \"The Bot\" \$USER"` + "\n",
		"ENV GIT_CONFIG_VALUE_1=\"bot@example.invalid\"\n",
		"LABEL io.docker-magents.config-digest=sha256:",
	} {
		if !strings.Contains(string(df), want) {
			t.Errorf("Dockerfile lacks %q:\n%s", want, df)
		}
	}
	for _, name := range []string{"config/CLAUDE.md", "config/commands/go/test.md", "config/manifest.json"} {
		st, err := fs.Stat(ctx, name)
		if err != nil || st.Mode().Perm() != 0o444 {
			t.Errorf("%s: %v %v", name, st, err)
		}
	}
	m, _ := fs.ReadFile(ctx, "config/manifest.json")
	if !strings.Contains(string(m), `"generation": "2026-11-27T10:00:00Z"`) {
		t.Errorf("manifest: %s", m)
	}
}
