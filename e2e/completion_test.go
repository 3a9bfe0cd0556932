//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker-magents/docker-magents/compose"
	"github.com/docker-magents/docker-magents/internal/fleet"
)

// docker's own completion reaches the plugin (docker __complete magents …, what the
// shell scripts of docker's completion call): agent names from the fleet's compose file,
// and flag values.
func TestCompletionThroughDocker(t *testing.T) {
	anyEngine(t, "the docker CLI's completion of the plugin")
	v := strings.TrimSpace(docker("version", "--format", "{{.Client.Version}}").Stdout())
	if cliMajor(v) < 23 {
		t.Skipf("docker CLI %s does not pass completion on to plugins (docker 23 and later do)", v)
	}
	dir := t.TempDir()
	f := fleet.New("compe2e", filepath.Join(dir, fleet.DefaultFile))
	f.Agents = 2
	content, err := compose.Render(t.Context(), f)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(f.ComposeFile, content, 0o644); err != nil {
		t.Fatal(err)
	}
	for args, want := range map[string]string{
		"attach ":         "agent-1\nagent-2\n:4",
		"logs -f agent-2": "agent-2\n:4",
		"up --egress ":    "allowlist\nopen\n:4",
	} {
		words := append([]string{"__complete", "magents"}, strings.Split(args, " ")...)
		if got := strings.TrimSpace(dockerIn(dir, nil, words...).Stdout()); got != want {
			t.Errorf("docker magents %s<TAB>: %q, want %q", args, got, want)
		}
	}
}
