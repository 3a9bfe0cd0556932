package deploy

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/docker-magents/docker-magents/internal/atomicfile"
)

// Write writes the rendered documents into dir (secret ones 0600), or prints them
// to stdout, each preceded by its name, when dir is empty. Nothing is written unless
// every file rendered.
func Write(out, log io.Writer, dir string, files []Document) error {
	if dir == "" {
		for i, f := range files {
			if len(files) > 1 {
				if i > 0 {
					fmt.Fprintln(out)
				}
				fmt.Fprintf(out, "# %s\n", f.Name)
			}
			if _, err := out.Write(f.Content); err != nil {
				return err
			}
		}
		return nil
	}
	for _, f := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f.Name)), 0o755); err != nil {
			return err
		}
		perm := os.FileMode(0o644)
		if f.Secret {
			perm = 0o600
		}
		path := filepath.Join(dir, f.Name)
		if err := atomicfile.Write(path, f.Content, perm); err != nil {
			return err
		}
		fmt.Fprintf(log, "Wrote %s\n", path)
	}
	return nil
}

// WriteWithCommands writes (or prints) documents and the shell commands that deploy
// them: into a script in the directory, or after the printed documents on stderr.
func WriteWithCommands(out, log io.Writer, dir string, docs []Document, script, commands string) error {
	files := slices.Clone(docs)
	if dir == "" {
		if err := Write(out, log, "", files); err != nil {
			return err
		}
		fmt.Fprint(log, "\nThen, in the directory of the files:\n"+commands)
		return nil
	}
	files = append(files, Document{Name: script, Content: []byte("#!/bin/sh\nset -e\n" + commands)})
	return Write(out, log, dir, files)
}
