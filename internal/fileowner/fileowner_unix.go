//go:build !windows

package fileowner

import (
	"os"
	"syscall"
)

func of(st os.FileInfo) (uid, gid int, ok bool) {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return -1, -1, false
	}
	return int(sys.Uid), int(sys.Gid), true
}
