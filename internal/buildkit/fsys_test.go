package buildkit

import (
	"context"
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/tonistiigi/fsutil/types"
)

// A file's mtime follows its content: the same content, the same mtime (a rebuild is
// cached); an edit that keeps the size, another mtime (BuildKit's file sync sends it).
func TestEmbeddedFSMtimeFollowsContent(t *testing.T) {
	mtimes := func(fsys fs.FS) map[string]int64 {
		out := map[string]int64{}
		err := NewFS(fsys).Walk(context.Background(), "", func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			info, _ := d.Info()
			out[p] = info.Sys().(*types.Stat).ModTime
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	a := mtimes(fstest.MapFS{"supervisor/agent.go": {Data: []byte("cfg.Workspace")}, "x": {Data: []byte("same")}})
	b := mtimes(fstest.MapFS{"supervisor/agent.go": {Data: []byte("cfg.workdir()")}, "x": {Data: []byte("same")}})
	if a["supervisor/agent.go"] == b["supervisor/agent.go"] {
		t.Error("an edit that kept the size kept the mtime: the builder would keep the old file")
	}
	if a["x"] != b["x"] || a["x"] == 0 {
		t.Errorf("the same content, mtimes %d and %d", a["x"], b["x"])
	}
}
