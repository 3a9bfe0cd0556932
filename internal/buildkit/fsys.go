package buildkit

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"

	"github.com/tonistiigi/fsutil"
	"github.com/tonistiigi/fsutil/types"
)

// NewFS adapts a read-only io/fs.FS (such as the plugin's embedded build context) to the
// filesystem BuildKit's file sync sends from. Files are presented as 0644 and directories
// as 0755, owned by root; a file's mtime is a digest of its content (an embedded file
// has none of its own): an unchanged context always hashes the same, so a rebuild is
// fully cached, and a changed file is always sent again — the file sync skips a file
// whose size and mtime the builder already has, so with one mtime for all, an edit that
// kept a file's size was built from the old content.
func NewFS(fsys fs.FS) fsutil.FS {
	return &embeddedFS{fsys: fsys}
}

type embeddedFS struct {
	fsys fs.FS
}

func (e *embeddedFS) Walk(ctx context.Context, target string, fn fs.WalkDirFunc) error {
	root := strings.Trim(path.Clean("/"+target), "/")
	if root == "" {
		root = "."
	}
	return fs.WalkDir(e.fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fn(p, nil, err)
		}
		if p == "." {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return fn(p, nil, err)
		}
		st := &types.Stat{Path: p, Size: info.Size(), Mode: uint32(0o644)}
		if d.IsDir() {
			st.Mode = uint32(fs.ModeDir | 0o755)
			st.Size = 0
		} else {
			b, err := fs.ReadFile(e.fsys, p)
			if err != nil {
				return fn(p, nil, err)
			}
			st.ModTime = contentTime(b)
		}
		return fn(p, &dirEntry{info: &fsutil.StatInfo{Stat: st}}, nil)
	})
}

// contentTime is a file's mtime from its content: nanoseconds since 1970 from its
// digest, within about a century.
func contentTime(b []byte) int64 {
	sum := sha256.Sum256(b)
	return int64(binary.BigEndian.Uint64(sum[:8]) % (100 * 365 * 24 * uint64(time.Hour)))
}

func (e *embeddedFS) Open(p string) (io.ReadCloser, error) {
	return e.fsys.Open(strings.TrimPrefix(path.Clean("/"+p), "/"))
}

type dirEntry struct {
	info *fsutil.StatInfo
}

func (d *dirEntry) Name() string               { return d.info.Name() }
func (d *dirEntry) IsDir() bool                { return d.info.IsDir() }
func (d *dirEntry) Type() fs.FileMode          { return d.info.Mode().Type() }
func (d *dirEntry) Info() (fs.FileInfo, error) { return d.info, nil }
