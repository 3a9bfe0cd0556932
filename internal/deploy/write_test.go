package deploy

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteKeepsSecretsPrivateAndPrintsWithoutADirectory(t *testing.T) {
	docs := []Document{{Name: "a.yaml", Content: []byte("a: 1\n")}, {Name: "sub/secret.yaml", Content: []byte("s: x\n"), Secret: true}}
	dir := t.TempDir()
	var out, log bytes.Buffer
	if err := WriteWithCommands(&out, &log, dir, docs, "run.sh", "kubectl apply -f .\n"); err != nil {
		t.Fatal(err)
	}
	for name, perm := range map[string]os.FileMode{"a.yaml": 0o644, "sub/secret.yaml": 0o600, "run.sh": 0o644} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != perm {
			t.Errorf("%s: mode %v, want %v", name, st.Mode().Perm(), perm)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "run.sh")); string(b) != "#!/bin/sh\nset -e\nkubectl apply -f .\n" {
		t.Errorf("script %q", b)
	}
	if out.Len() != 0 {
		t.Errorf("wrote files and printed %q", out.String())
	}

	out.Reset()
	log.Reset()
	if err := WriteWithCommands(&out, &log, "", docs, "run.sh", "kubectl apply -f .\n"); err != nil {
		t.Fatal(err)
	}
	if want := "# a.yaml\na: 1\n\n# sub/secret.yaml\ns: x\n"; out.String() != want {
		t.Errorf("printed %q, want %q", out.String(), want)
	}
	if want := "\nThen, in the directory of the files:\nkubectl apply -f .\n"; log.String() != want {
		t.Errorf("commands %q, want %q", log.String(), want)
	}
}
