// Package atomicfile writes a file whole or not at all: into a temporary file beside it,
// renamed over it, so no reader (an agent, compose, a second command) sees half a file —
// and secrets are never readable by anyone else on the way. It imports only the standard
// library; anything may import it.
package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
)

// Write replaces path with b, mode perm.
func Write(path string, b []byte, perm os.FileMode) error {
	return write(path, b, perm, -1, -1)
}

// WriteSecret replaces path with b, mode 0600 in a directory of mode 0700; when this
// process is root and uid is not negative, both belong to uid:gid (the agents' user,
// who reads them through a mount).
func WriteSecret(path string, b []byte, uid, gid int) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return err
	}
	if uid >= 0 && os.Geteuid() == 0 {
		if err := os.Chown(dir, uid, gid); err != nil {
			return err
		}
	}
	return write(path, b, 0o600, uid, gid)
}

func write(path string, b []byte, perm os.FileMode, uid, gid int) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*") // 0600
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if uid >= 0 && os.Geteuid() == 0 {
		if err := tmp.Chown(uid, gid); err != nil {
			tmp.Close()
			return err
		}
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// CheckWritable says whether files can be written in dir, by writing and removing one;
// its error is the system's, without the test file's name.
func CheckWritable(dir string) error {
	f, err := os.CreateTemp(dir, ".magents-write-test-")
	if err != nil {
		if u := errors.Unwrap(err); u != nil {
			return u
		}
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}
