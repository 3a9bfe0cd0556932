package fileowner

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestOfAFileThisProcessMade(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	uid, gid, ok := Of(st)
	if runtime.GOOS == "windows" {
		if ok {
			t.Fatalf("Of reported owner %d:%d on Windows, which has no numeric owner", uid, gid)
		}
		return
	}
	if !ok || uid != os.Geteuid() {
		t.Fatalf("Of = %d:%d (ok %v), want this process's uid %d", uid, gid, ok, os.Geteuid())
	}
	if gid != os.Getegid() && os.Geteuid() != 0 {
		t.Logf("gid %d differs from this process's %d (a setgid directory)", gid, os.Getegid())
	}
}
