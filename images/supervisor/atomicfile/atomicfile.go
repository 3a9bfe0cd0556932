// Package atomicfile replaces a file by rename, so a reader (health in another process, a
// hook, the proxy's next start) never sees half of it. The plugin has its own
// (internal/atomicfile): the supervisor builds from its own sources alone.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// Write replaces path with b, mode perm.
func Write(path string, b []byte, perm os.FileMode) error {
	return replace(path, b, perm, false)
}

// WriteSynced replaces path with b, mode perm, on disk before it returns (the file and
// its directory synced): for a state that must survive the machine stopping.
func WriteSynced(path string, b []byte, perm os.FileMode) error {
	return replace(path, b, perm, true)
}

// replace writes b to a temporary file beside path and renames it over path; with
// synced, the file and then its directory are on disk before it returns.
func replace(path string, b []byte, perm os.FileMode, synced bool) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if synced {
		if err := tmp.Sync(); err != nil {
			tmp.Close()
			return err
		}
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if synced {
		d, err := os.Open(filepath.Dir(path))
		if err != nil {
			return nil // the file is on disk; a directory that cannot be opened is not synced
		}
		defer d.Close()
		return d.Sync()
	}
	return nil
}
