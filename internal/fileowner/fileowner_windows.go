package fileowner

import "os"

func of(os.FileInfo) (uid, gid int, ok bool) { return -1, -1, false }
