package images

import (
	"io/fs"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The Dockerfile builds the supervisor offline from its sources alone, so it may import
// nothing but the standard library.
func TestSupervisorImportsOnlyStandardLibrary(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-test", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", "./supervisor").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	const self = "github.com/docker-magents/docker-magents/images/supervisor"
	for _, pkg := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		// The package itself, its test variant "self [self.test]" and "self.test".
		if pkg != "" && !strings.HasPrefix(pkg, self) {
			t.Errorf("the supervisor imports %s; it must build with the standard library only", pkg)
		}
	}
}

func TestContextHoldsWhatTheDockerfileCopies(t *testing.T) {
	for _, name := range []string{Dockerfile, "tmux.conf", "supervisor/main.go"} {
		if _, err := fs.Stat(Context(), name); err != nil {
			t.Errorf("embedded build context lacks %s: %v", name, err)
		}
	}
	df, err := fs.ReadFile(Context(), Dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(string(df), "# syntax=") {
		t.Error("the Dockerfile has a # syntax= line, which makes BuildKit pull a frontend image")
	}
	for _, name := range TargetNames {
		if !strings.Contains(string(df), " AS "+name+"\n") {
			t.Errorf("the Dockerfile has no stage %q", name)
		}
	}
	stages := strings.Split(strings.TrimSpace(string(df)), "\nFROM ")
	if last := stages[len(stages)-1]; !strings.HasSuffix(last, "AS latest") {
		t.Errorf("the last stage must be latest (the default target of a plain docker build), got %q", last)
	}
}

func TestNewTargetRejectsUnknownNames(t *testing.T) {
	if _, err := NewTarget("nightly"); err == nil || !strings.Contains(err.Error(), "latest, dev, cloudrun") {
		t.Errorf("err = %v, want the list of targets", err)
	}
}

// The plugin reads the Claude Code version from the label the Dockerfile sets.
func TestDockerfileSetsTheClaudeVersionLabel(t *testing.T) {
	b, err := fs.ReadFile(Context(), "Dockerfile.claude")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), ClaudeVersionLabel+`="${CLAUDE_CODE_VERSION}"`) {
		t.Errorf("Dockerfile.claude does not set %s", ClaudeVersionLabel)
	}
}

// The embedded build context holds every source file the supervisor builds from (a new
// package left out of the go:embed list breaks docker magents build, not go build).
func TestContextHasSupervisorSources(t *testing.T) {
	err := filepath.WalkDir("supervisor", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		if _, err := fs.Stat(Context(), path); err != nil {
			t.Errorf("%s is not in the embedded build context: add it to the go:embed list in images.go", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The Claude Code download is checked against a sha512 kept in the Dockerfile for each
// architecture, pinned for the version the Dockerfile, bake file and plugin default to
// (make bump-claude VERSION=… updates them together).
func TestClaudeDownloadIsPinned(t *testing.T) {
	b, err := fs.ReadFile(Context(), Dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	args := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(strings.TrimPrefix(line, "ARG "), "="); ok && strings.HasPrefix(line, "ARG ") {
			args[k] = v
		}
	}
	for _, arch := range []string{"X64", "ARM64"} {
		if sum := args["CLAUDE_CODE_SHA512_"+arch]; !regexp.MustCompile(`^[0-9a-f]{128}$`).MatchString(sum) {
			t.Errorf("CLAUDE_CODE_SHA512_%s = %q, want a sha512 in hex", arch, sum)
		}
	}
	if args["CLAUDE_CODE_VERSION"] != defaultArgs["CLAUDE_CODE_VERSION"] {
		t.Errorf("the Dockerfile pins Claude Code %s, the plugin builds %s", args["CLAUDE_CODE_VERSION"], defaultArgs["CLAUDE_CODE_VERSION"])
	}
	if !strings.Contains(string(b), `sha512sum -c`) {
		t.Error("the Dockerfile does not check the download with sha512sum")
	}
}
