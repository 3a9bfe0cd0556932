package workspace

import (
	"fmt"
	"io"
	"os"
	"syscall"
)

// Bounds on what the host reads of a tree an agent may have written.
const (
	maxIncludeFile  = 64 << 20 // a file carried into the agents
	maxIncludeList  = 1 << 20  // .magentsinclude
	maxGitdirRecord = 4 << 10  // a worktree's gitdir record
)

// readRegular reads the regular file at path, at most limit bytes, never blocking on
// what is not one: a FIFO, a device or a socket is refused before it is opened, and the
// open does not wait (O_NONBLOCK) should one be swapped in meanwhile, which the open
// file's own stat then refuses. Too big a file is an error, not a truncation.
func readRegular(path string, limit int64) ([]byte, os.FileInfo, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%s is not a regular file (%s): it is not read", path, st.Mode().Type())
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	if st, err = f.Stat(); err != nil {
		return nil, nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%s is not a regular file (%s): it is not read", path, st.Mode().Type())
	}
	if st.Size() > limit {
		return nil, nil, fmt.Errorf("%s is %d bytes, more than the %d read of it", path, st.Size(), limit)
	}
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, nil, err
	}
	if int64(len(b)) > limit {
		return nil, nil, fmt.Errorf("%s is more than the %d bytes read of it", path, limit)
	}
	return b, st, nil
}
