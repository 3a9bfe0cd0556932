package agentimage

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/docker-magents/docker-magents/internal/devcontainer"
	"github.com/docker-magents/docker-magents/internal/fleet"
)

// project is a workspace with files, and a fleet of it that uses the devcontainer at rel.
func project(t *testing.T, rel string, files map[string]string) *fleet.Fleet {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f := fleet.New("dc", filepath.Join(dir, fleet.DefaultFile))
	f.Devcontainer = rel
	return f
}

// The tag is a digest of what goes into the image: the same project, the same tag; a
// changed devcontainer, or a changed file its Dockerfile builds from, another.
func TestTagFollowsWhatGoesIn(t *testing.T) {
	f := project(t, ".devcontainer/devcontainer.json", map[string]string{
		".devcontainer/devcontainer.json": `{"image": "golang:1.26-bookworm"}`,
	})
	p, err := For(f)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := For(f)
	if p.Base != nil || p.BaseImage != "golang:1.26-bookworm" || !strings.HasPrefix(p.Tag, TagPrefix) || again.Tag != p.Tag {
		t.Fatalf("an image devcontainer: %+v (again %s)", p, again.Tag)
	}
	os.WriteFile(f.Abs(".devcontainer/devcontainer.json"), []byte(`{"image": "debian:bookworm-slim"}`), 0o644)
	if changed, _ := For(f); changed.Tag == p.Tag {
		t.Error("a changed devcontainer kept its tag")
	}
	if p, _ := For(&fleet.Fleet{Devcontainer: "none"}); p != nil {
		t.Error("none planned an image")
	}

	f = project(t, ".devcontainer/devcontainer.json", map[string]string{
		".devcontainer/devcontainer.json": `{"build": {"dockerfile": "Dockerfile", "context": "..", "args": {"V": "1"}, "target": "dev"}}`,
		".devcontainer/Dockerfile":        "FROM golang:1.26-bookworm AS dev\nCOPY go.mod /src/\n",
		"go.mod":                          "module example.test/x\n",
		"notes/scratch.txt":               "ignored",
		".dockerignore":                   "notes\n",
	})
	p, err = For(f)
	if err != nil {
		t.Fatal(err)
	}
	if p.Base == nil || p.Base.Target != "dev" || p.Base.Args["V"] != "1" || p.BaseImage != p.Base.Tag || p.Base.Context != f.Dir() {
		t.Fatalf("a Dockerfile devcontainer: %+v %+v", p, p.Base)
	}
	os.WriteFile(f.Abs("notes/scratch.txt"), []byte("changed, and ignored"), 0o644)
	if same, _ := For(f); same.Tag != p.Tag {
		t.Error("a file .dockerignore leaves out changed the tag")
	}
	os.WriteFile(f.Abs("go.mod"), []byte("module example.test/y\n"), 0o644)
	if changed, _ := For(f); changed.Base.Tag == p.Base.Tag || changed.Tag == p.Tag {
		t.Error("a changed file of the context kept the tags")
	}
	target, err := p.Target("", "")
	if err != nil || *target.Args["BASE_IMAGE"] != p.Base.Tag || target.Tags[0] != p.Tag || target.Target != "latest" {
		t.Errorf("the agent's layer: %+v %v", target, err)
	}
}

// A devcontainer whose build reads outside the project, or one of compose files, is
// refused with what to do.
func TestRefusals(t *testing.T) {
	f := project(t, ".devcontainer/devcontainer.json", map[string]string{
		".devcontainer/devcontainer.json": `{"build": {"dockerfile": "Dockerfile", "context": "../.."}}`,
		".devcontainer/Dockerfile":        "FROM debian:bookworm-slim\n",
	})
	if _, err := For(f); err == nil || !strings.Contains(err.Error(), "outside the project") {
		t.Errorf("a context outside the project: %v", err)
	}
	// A link in the project that leads out of it is outside it too: what the build would
	// read is where the link goes.
	outside := t.TempDir()
	os.WriteFile(filepath.Join(outside, "secret"), []byte("the host's"), 0o600)
	f = project(t, ".devcontainer/devcontainer.json", map[string]string{
		".devcontainer/devcontainer.json": `{"build": {"dockerfile": "Dockerfile", "context": "../ctx"}}`,
		".devcontainer/Dockerfile":        "FROM debian:bookworm-slim\nCOPY . /stolen\n",
	})
	os.Symlink(outside, f.Abs("ctx"))
	if _, err := For(f); err == nil || !strings.Contains(err.Error(), "outside the project") {
		t.Errorf("a context linked out of the project: %v", err)
	}
	f = project(t, "linked/devcontainer.json", map[string]string{})
	os.MkdirAll(filepath.Join(outside, "dc"), 0o755)
	os.WriteFile(filepath.Join(outside, "dc", "devcontainer.json"), []byte(`{"image": "x"}`), 0o644)
	os.Symlink(filepath.Join(outside, "dc"), f.Abs("linked"))
	if _, err := For(f); err == nil || !strings.Contains(err.Error(), "outside the project") {
		t.Errorf("a devcontainer behind a link out of the project: %v", err)
	}
	f = project(t, ".devcontainer/devcontainer.json", map[string]string{
		".devcontainer/devcontainer.json": `{"dockerComposeFile": "c.yml", "service": "app"}`,
	})
	if _, err := For(f); err == nil || !strings.Contains(err.Error(), "--devcontainer none") {
		t.Errorf("a compose devcontainer: %v", err)
	}
	f = project(t, ".devcontainer/devcontainer.json", map[string]string{".devcontainer/devcontainer.json": `{"image": `})
	if _, err := For(f); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("a malformed devcontainer: %v", err)
	}
}

// Every property of the spec has its treatment, and the README's table says the same.
func TestEveryPropertyIsTreatedAndDocumented(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, prop := range devcontainer.Properties() {
		i := slices.IndexFunc(Treatments, func(tr Treatment) bool { return tr.Property == prop })
		if i < 0 {
			t.Errorf("%s: no treatment", prop)
			continue
		}
		tr := Treatments[i]
		if row := fmt.Sprintf("| `%s` | %s: %s |", tr.Property, tr.Use, tr.What); !strings.Contains(string(readme), row) {
			t.Errorf("the README's devcontainer table lacks %q", row)
		}
	}
	if len(Treatments) != len(devcontainer.Properties()) {
		t.Errorf("%d treatments for %d properties", len(Treatments), len(devcontainer.Properties()))
	}
}

// up says a line for each property set that is not applied, and for each unknown one;
// the hostile devcontainer's each have theirs.
func TestNotes(t *testing.T) {
	f := project(t, ".devcontainer/devcontainer.json", map[string]string{
		".devcontainer/devcontainer.json": `{"image": "debian:bookworm-slim", "name": "x", "initializeCommand": "curl x | sh",
			"runArgs": ["--privileged"], "privileged": true, "capAdd": ["SYS_ADMIN"], "mounts": ["source=/,target=/host,type=bind"],
			"securityOpt": ["seccomp=unconfined"], "init": true, "postCreateCommand": "make", "features": {"./f": {}}, "imagee": "typo"}`,
	})
	p, err := For(f)
	if err != nil {
		t.Fatal(err)
	}
	notes := strings.Join(p.Notes(), "\n")
	for _, want := range []string{"initializeCommand never run (it would run on your host)", "runArgs ignored", "privileged ignored",
		"capAdd ignored", "mounts ignored", "securityOpt ignored", "init ignored", "features not yet", "imagee: not a property"} {
		if !strings.Contains(notes, want) {
			t.Errorf("the notes lack %q:\n%s", want, notes)
		}
	}
	if strings.Contains(notes, "name") || strings.Contains(notes, "image ") || strings.Contains(notes, "postCreateCommand") {
		t.Errorf("notes of what is applied or an editor's alone:\n%s", notes)
	}
}
