package compose

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/dotenv"

	"github.com/docker-magents/docker-magents/internal/fleet"
)

// An env file is accepted only when it parses and holds no credential.
func FuzzPrepareEnvFile(f *testing.F) {
	for _, seed := range []string{
		"ANTHROPIC_BASE_URL=https://gateway.example.com\n",
		"# comment\nA=1\nB='two words'\nC=\"x\\ny\"\n",
		"ANTHROPIC_API_KEY=sk-ant-api03-x\n",
		"export CLAUDE_CODE_OAUTH_TOKEN=sk-ant-oat01-x\n",
		"FOO='unterminated\n",
		"=novar\n",
		"A=${B:-c}\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), ".env.magents")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := PrepareEnvFile(path); err != nil {
			return
		}
		vars, err := dotenv.Read(path)
		if err != nil {
			t.Fatalf("accepted, but does not parse: %v", err)
		}
		for k := range vars {
			if fleet.IsCredentialVar(k) {
				t.Fatalf("accepted an env file that holds %s", k)
			}
		}
	})
}

// Whatever fleet settings validate, the compose file rendered from them loads in
// compose-go (Render checks with its loader; an error there is a bug).
func FuzzRender(f *testing.F) {
	f.Add("magents", 2, "4g", 1.5, "1000:1000", "Write the parser", "worktree", true, 512)
	f.Add("team-a", 1, "512m", 0.0, "1001:1001", "", "shared", false, 0)
	f.Add("x", 3, "1.5g", 2.0, "0:0", "a: b\n- c", "clone", false, -1)
	f.Fuzz(func(t *testing.T, project string, agents int, memory string, cpus float64, user, task, isolation string, readOnly bool, pids int) {
		fl := fleet.New(project, "/home/dev/project/"+fleet.DefaultFile)
		fl.Agents, fl.Memory, fl.CPUs, fl.User, fl.Isolation, fl.ReadOnlyRootfs, fl.Pids = agents%20, memory, cpus, user, isolation, readOnly, pids
		if task != "" {
			fl.Tasks = []string{task}
		}
		if isolation == "worktree" {
			fl.GitDir = "/home/dev/project/.git"
		}
		if fl.Validate() != nil || fleet.ParseMemory(memory) != nil || strings.ContainsAny(isolation, "\x00") {
			return
		}
		if _, err := Render(context.Background(), fl); err != nil {
			t.Fatalf("a fleet that validates does not render: %v\n%+v", err, fl)
		}
	})
}
