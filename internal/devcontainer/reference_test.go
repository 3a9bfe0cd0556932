package devcontainer

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// referenceCLI is the Dev Containers CLI, the spec's reference implementation
// (hack/build-tools.sh installs it): MAGENTS_DEVCONTAINER_CLI, or where provisioning puts
// it.
func referenceCLI(t *testing.T) string {
	t.Helper()
	cli := os.Getenv("MAGENTS_DEVCONTAINER_CLI")
	if cli == "" {
		cli = "/var/cache/docker-magents/tools/devcontainers-cli-0.89.0/node_modules/@devcontainers/cli/devcontainer.js" // hack/lib.sh's version
	}
	if _, err := os.Stat(cli); err != nil {
		if os.Getenv("MAGENTS_REQUIRE_TOOLS") == "1" {
			t.Fatalf("the Dev Containers CLI is not at %s: run make provision", cli)
		}
		t.Skipf("the Dev Containers CLI (the reference this parser is held to) is not at %s: run make provision, or set MAGENTS_DEVCONTAINER_CLI", cli)
	}
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("no node to run the Dev Containers CLI: run make provision")
	}
	return cli
}

// allowed is the one name of the developer's environment the fixtures may read.
const allowed = "MAGENTS_TEST_ALLOWED"

// Every fixture reads as the reference reads it: for each property, what the reference's
// read-configuration prints is what Parse and Substitute give, in the same form; the
// reference runs with only the allowed names in its environment, as the agents' files see
// the developer's.
func TestConfigurationIsTheReferences(t *testing.T) {
	cli := referenceCLI(t)
	fixtures, err := filepath.Glob("testdata/ref/*")
	if err != nil || len(fixtures) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, dir := range fixtures {
		dir, _ := filepath.Abs(dir)
		which := ""
		if filepath.Base(dir) == "named" {
			which = "go"
		}
		t.Run(filepath.Base(dir), func(t *testing.T) {
			path, err := Find(dir, which)
			if err != nil || path == "" {
				t.Fatalf("Find: %q, %v", path, err)
			}
			cmd := exec.Command("node", cli, "read-configuration", "--workspace-folder", dir, "--config", path)
			cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), allowed + "=from the developer"}
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("the reference: %v\n%s%s", err, out, stderr.String())
			}
			var ref struct{ Configuration map[string]json.RawMessage }
			if err := json.Unmarshal(out, &ref); err != nil {
				t.Fatalf("the reference printed %s: %v", out, err)
			}
			delete(ref.Configuration, "configFilePath")

			c, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			got, withheld, err := c.Substitute(Vars{
				LocalWorkspaceFolder:     dir,
				ContainerWorkspaceFolder: referenceFolder(t, dir),
				LocalEnv:                 AllowedEnv([]string{allowed}, func(string) (string, bool) { return "from the developer", true }),
			})
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(mustRead(t, path)), "MAGENTS_TEST_UNSET") && (len(withheld) != 1 || withheld[0] != "MAGENTS_TEST_UNSET") {
				t.Errorf("withheld %v, want the unset name", withheld)
			}
			b, err := json.Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			var ours map[string]json.RawMessage
			if err := json.Unmarshal(b, &ours); err != nil {
				t.Fatal(err)
			}
			for key, want := range ref.Configuration {
				if !sameJSON(t, ours[key], want) {
					t.Errorf("%s: ours %s, the reference's %s", key, ours[key], want)
				}
			}
			for key := range ours {
				if _, ok := ref.Configuration[key]; !ok {
					t.Errorf("%s: ours %s, the reference has none", key, ours[key])
				}
			}
		})
	}
}

func sameJSON(t *testing.T, a, b json.RawMessage) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	return reflect.DeepEqual(x, y)
}

func mustRead(t *testing.T, path string) []byte {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// referenceFolder is where the reference puts the workspace dir in its container: the git
// repository that holds dir under /workspaces, at dir's place in it.
func referenceFolder(t *testing.T, dir string) string {
	out, err := exec.Command("git", "-C", dir, "rev-parse", "--show-toplevel").Output()
	if err != nil {
		return "/workspaces/" + filepath.Base(dir)
	}
	root := strings.TrimSpace(string(out))
	rel, err := filepath.Rel(root, dir)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join("/workspaces", filepath.Base(root), rel)
}
