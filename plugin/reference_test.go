package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/docker-magents/docker-magents/internal/cmdref"
)

var updateReference = flag.Bool("update-reference", false, "rewrite docs/reference from the commands (make docs)")

// referenceDir is the command reference, generated from the commands.
const referenceDir = "../docs/reference"

// The command reference is the commands' own: a page per command, current. make docs
// writes it again after a command changed.
func TestCommandReferenceIsCurrent(t *testing.T) {
	root := newRootCmd(nil)
	if *updateReference {
		if err := cmdref.Write(root, "docker", referenceDir); err != nil {
			t.Fatal(err)
		}
	}
	pages := cmdref.Pages(root, "docker")
	for name, want := range pages {
		got, err := os.ReadFile(filepath.Join(referenceDir, name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("docs/reference/%s is not the command's reference (%v): run make docs", name, err)
		}
	}
	files, _ := filepath.Glob(filepath.Join(referenceDir, "*.md"))
	for _, f := range files {
		if _, ok := pages[filepath.Base(f)]; !ok {
			t.Errorf("docs/reference/%s documents no command: run make docs", filepath.Base(f))
		}
	}
}
