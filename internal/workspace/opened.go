package workspace

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"github.com/docker-magents/docker-magents/internal/atomicfile"
	"github.com/docker-magents/docker-magents/internal/fleet"
)

// In a shared workspace the agents write the developer's own tree, and some files there
// run code as the developer the moment the tree is opened: a .git directory anywhere
// (git status — a shell prompt, an editor — runs its core.fsmonitor, its hooks), the
// trusted files (Claude Code's project hooks, .envrc, VS Code's tasks…). up records them
// as they are; doctor lists what changed since.

// OpenedFile is the state file of that record, in the state dir.
const OpenedFile = "opened.json"

// maxOpenedWalk bounds the walk for planted .git directories.
const maxOpenedWalk = 200000

// Opened is what of a tree runs code when it is opened: each such file's digest (a
// directory's: "dir"), by slash-separated path; Partial when the walk stopped early.
type Opened struct {
	Files   map[string]string `json:"files"`
	Partial bool              `json:"partial,omitempty"`
}

// ReadOpened takes the snapshot of the tree at ws. The fleet's own state dir is left out.
func ReadOpened(ws string) (Opened, error) {
	o := Opened{Files: map[string]string{}}
	seen := 0
	err := filepath.WalkDir(ws, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable: nothing the developer's tools read either
		}
		if seen++; seen > maxOpenedWalk {
			o.Partial = true
			return filepath.SkipAll
		}
		rel, _ := filepath.Rel(ws, p)
		rel = filepath.ToSlash(rel)
		if rel == fleet.StateDirName {
			return filepath.SkipDir
		}
		if foldName(d.Name()) == ".git" {
			if !d.IsDir() { // a gitdir: file, pointing git elsewhere
				if digest, ok := digestOf(p); ok {
					o.Files[rel] = digest
				}
				return nil
			}
			// A repository's git dir: that it is there, and what of it runs code — not its
			// refs, index or objects, which every commit changes.
			o.Files[rel] = "git dir"
			for _, part := range []string{"config", "hooks", "commondir"} {
				if digest, ok := digestOf(filepath.Join(p, part)); ok {
					o.Files[rel+"/"+part] = digest
				}
			}
			return filepath.SkipDir
		}
		if _, ok := Trusted(rel); ok && !d.IsDir() {
			if digest, ok := digestOf(p); ok {
				o.Files[rel] = digest
			}
		}
		return nil
	})
	return o, err
}

// digestOf is the digest of the file at p (a symlink's target as text; a directory, such
// as a git dir's hooks: the digests of everything it holds), or false when there is
// nothing there.
func digestOf(p string) (string, bool) {
	st, err := os.Lstat(p)
	if err != nil {
		return "", false
	}
	h := sha256.New()
	switch {
	case st.Mode()&fs.ModeSymlink != 0:
		target, _ := os.Readlink(p)
		io.WriteString(h, "symlink "+target)
	case st.IsDir():
		entries, _ := os.ReadDir(p)
		for _, e := range entries {
			d, _ := digestOf(filepath.Join(p, e.Name()))
			io.WriteString(h, e.Name()+" "+d+"\n")
		}
	case st.Mode().IsRegular():
		// Only a regular file is read (a FIFO an agent made would hang the host), and
		// only so much of it.
		f, err := os.Open(p)
		if err != nil {
			return "", false
		}
		defer f.Close()
		fmt.Fprintf(h, "%d ", st.Size())
		_, _ = io.Copy(h, io.LimitReader(f, 1<<20))
	default:
		io.WriteString(h, "special "+st.Mode().String())
	}
	return hex.EncodeToString(h.Sum(nil)), true
}

// RecordOpened writes the snapshot of f's shared workspace into its state dir.
func RecordOpened(f *fleet.Fleet) error {
	o, err := ReadOpened(f.Abs(f.Workspace))
	if err != nil {
		return err
	}
	b, _ := json.Marshal(o)
	return atomicfile.Write(filepath.Join(f.StateDir(), OpenedFile), b, 0o600)
}

// OpenedChanges lists what runs code when f's shared workspace is opened and changed
// since up recorded it, each "PATH (what it is): added|changed|removed".
func OpenedChanges(f *fleet.Fleet) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(f.StateDir(), OpenedFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, errors.New("up recorded nothing to compare with (run up again)")
	}
	if err != nil {
		return nil, err
	}
	var was Opened
	if err := json.Unmarshal(b, &was); err != nil {
		return nil, fmt.Errorf("%s: %w", OpenedFile, err)
	}
	now, err := ReadOpened(f.Abs(f.Workspace))
	if err != nil {
		return nil, err
	}
	var out []string
	describe := func(p, how string) string {
		what := "a git dir: its config and hooks run as you"
		if t, ok := Trusted(p); ok {
			what = t.What
		}
		return fmt.Sprintf("%s (%s): %s", p, what, how)
	}
	for p, d := range now.Files {
		switch old, ok := was.Files[p]; {
		case !ok:
			out = append(out, describe(p, "added"))
		case old != d:
			out = append(out, describe(p, "changed"))
		}
	}
	for p := range was.Files {
		if _, ok := now.Files[p]; !ok {
			out = append(out, describe(p, "removed"))
		}
	}
	slices.Sort(out)
	return out, nil
}
