package devcontainer

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// A file that is not what the spec allows is refused with its line and column and what is
// wrong; what the spec does not define is named, not refused.
func TestParseSaysWhereAndWhat(t *testing.T) {
	for _, c := range []struct{ name, file, want string }{
		{"missing comma", "{\n  \"image\": \"x\"\n  \"name\": \"y\"\n}", "line 3, column 3"},
		{"bad literal", "{\n  // c\n  \"init\": tru\n}", "line 3, column 11"},
		{"wrong type", "{\n  \"image\": \"x\",\n  \"forwardPorts\": {\"a\": 1}\n}", "line 3"},
		{"bad port", "{\"image\": \"x\", \"forwardPorts\": [\"db:port\"]}", `"db:port" is not a port`},
		{"bad command", "{\"image\": \"x\", \"postCreateCommand\": 3}", "line 1"},
		{"not an object", "[1, 2]", "not a JSON object"},
		{"no base", "{\"name\": \"x\"}", "names no base"},
		{"two bases", "{\"image\": \"x\", \"dockerComposeFile\": \"c.yml\", \"service\": \"s\"}", "more than one base"},
		{"compose without service", "{\"dockerComposeFile\": \"c.yml\"}", "add \"service\""},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse("devcontainer.json", []byte(c.file))
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "devcontainer.json: ") {
				t.Errorf("%v, want %q", err, c.want)
			}
		})
	}
	cfg, err := Parse("devcontainer.json", []byte(`{"image": "x", "imagee": "typo", "x-tool": 1, "build": {"dockerfile": "D"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(cfg.Unknown, ",") != "imagee,x-tool" {
		t.Errorf("unknown: %v", cfg.Unknown)
	}
	if cfg.Kind() != KindDockerfile || cfg.Dockerfile() != "D" || cfg.BuildContext() != "." {
		t.Errorf("image and build: kind %s, dockerfile %q, context %q", cfg.Kind(), cfg.Dockerfile(), cfg.BuildContext())
	}
}

// Each form of a polymorphic property reads as what it says.
func TestForms(t *testing.T) {
	cfg, err := Parse("d", []byte(`{
		"dockerComposeFile": "one.yml", "service": "app",
		"forwardPorts": [3000, "db:5432", "8080"],
		"postCreateCommand": {"a": "echo a", "b": ["echo", "b"]},
		"postStartCommand": ["go", "test"],
		"onCreateCommand": "make",
		"features": {"f1": "1.2", "f2": true, "f3": {"x": 1}, "f4": false},
		"mounts": ["type=volume,source=v,target=/v", {"type": "bind", "source": "/s", "target": "/t"}]
	}`))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Kind() != KindCompose || len(cfg.DockerComposeFile.Items) != 1 {
		t.Errorf("compose: %+v", cfg.DockerComposeFile)
	}
	if p := cfg.ForwardPorts; len(p) != 3 || p[0].Number != 3000 || p[1].Host != "db" || p[1].Number != 5432 || p[2].String() != "8080" {
		t.Errorf("ports: %+v", p)
	}
	if c := cfg.PostCreateCommand; len(c.Parallel) != 2 || c.Parallel["b"].Args[1] != "b" || c.Parallel["a"].Shell != "echo a" {
		t.Errorf("parallel commands: %+v", c)
	}
	if cfg.PostStartCommand.Args[0] != "go" || cfg.OnCreateCommand.Shell != "make" {
		t.Errorf("commands: %+v %+v", cfg.PostStartCommand, cfg.OnCreateCommand)
	}
	for id, want := range map[string]map[string]any{"f1": {"version": "1.2"}, "f2": {}, "f3": {"x": 1.0}} {
		if got, err := cfg.Features.Options(id); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("feature %s: %v %v", id, got, err)
		}
	}
	if _, err := cfg.Features.Options("f4"); err == nil {
		t.Error("a feature set to false has options")
	}
	if m := cfg.Mounts; m[0].Type != "volume" || m[0].Target != "/v" || m[1].Source != "/s" {
		t.Errorf("mounts: %+v", m)
	}
}

// Find looks where the spec says, in its order; a project with several asks which.
func TestFind(t *testing.T) {
	dir := t.TempDir()
	write := func(rel string) {
		p := filepath.Join(dir, rel)
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte(`{"image": "x"}`), 0o644)
	}
	if p, err := Find(dir, ""); p != "" || err != nil {
		t.Errorf("none: %q %v", p, err)
	}
	write(".devcontainer/go/devcontainer.json")
	if p, _ := Find(dir, ""); !strings.HasSuffix(p, ".devcontainer/go/devcontainer.json") {
		t.Errorf("the one named: %q", p)
	}
	write(".devcontainer/python/devcontainer.json")
	if _, err := Find(dir, ""); err == nil || !strings.Contains(err.Error(), "go, python") || !strings.Contains(err.Error(), "--devcontainer NAME") {
		t.Errorf("two named: %v", err)
	}
	if p, _ := Find(dir, "python"); !strings.HasSuffix(p, "python/devcontainer.json") {
		t.Errorf("--devcontainer python: %q", p)
	}
	if _, err := Find(dir, "rust"); err == nil || !strings.Contains(err.Error(), "go, python") {
		t.Errorf("--devcontainer rust: %v", err)
	}
	write(".devcontainer.json")
	if p, _ := Find(dir, ""); p != filepath.Join(dir, ".devcontainer.json") {
		t.Errorf(".devcontainer.json first: %q", p)
	}
	write(".devcontainer/devcontainer.json")
	if p, _ := Find(dir, ""); p != filepath.Join(dir, ".devcontainer", "devcontainer.json") {
		t.Errorf(".devcontainer/devcontainer.json first of all: %q", p)
	}
	if p, err := Find(dir, None); p != "" || err != nil {
		t.Errorf("none asked: %q %v", p, err)
	}
	if p, _ := Find(dir, ".devcontainer/go/devcontainer.json"); !strings.HasSuffix(p, "go/devcontainer.json") {
		t.Errorf("a path: %q", p)
	}
	// A link is not followed: the repository's files are judged like code.
	os.Remove(filepath.Join(dir, ".devcontainer", "devcontainer.json"))
	os.Remove(filepath.Join(dir, ".devcontainer.json"))
	os.Symlink("/etc/hostname", filepath.Join(dir, ".devcontainer", "devcontainer.json"))
	if p, _ := Find(dir, ""); strings.HasSuffix(p, ".devcontainer/devcontainer.json") {
		t.Errorf("a link was taken: %q", p)
	}
}
