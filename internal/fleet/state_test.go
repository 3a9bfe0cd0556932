package fleet

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A first command that wrote nothing leaves no state dir; one waiting for its lock takes
// the lock anew rather than the abandoned file's, and a dir that holds more than the lock
// is never removed.
func TestAbandonedLockLeavesNoStateDir(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, DefaultFile)
	first, err := LockProject(file)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *ProjectLock)
	go func() {
		second, err := LockProject(file)
		if err != nil {
			t.Error(err)
		}
		got <- second
	}()
	select {
	case <-got:
		t.Fatal("the lock was taken twice")
	case <-time.After(200 * time.Millisecond):
	}
	first.Abandon()
	second := <-got
	if second == nil {
		t.FailNow()
	}
	// The second holds the lock at the path: a third waits for it.
	third := make(chan *ProjectLock)
	go func() {
		l, _ := LockProject(file)
		third <- l
	}()
	select {
	case <-third:
		t.Fatal("the second holds a lock nobody else sees")
	case <-time.After(200 * time.Millisecond):
	}
	// What the second made is its own: abandoned, nothing is left.
	second.Abandon()
	l := <-third
	if err := os.WriteFile(filepath.Join(dir, StateDirName, "tasks.json"), []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	l.Abandon()
	if _, err := os.Stat(filepath.Join(dir, StateDirName, "tasks.json")); err != nil {
		t.Fatalf("a state dir holding more than the lock was touched: %v", err)
	}
	l, err = LockProject(file)
	if err != nil {
		t.Fatal(err)
	}
	l.Abandon() // the dir was there before: it stays
	if _, err := os.Stat(filepath.Join(dir, StateDirName)); err != nil {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, StateDirName, "tasks.json"))
	l, err = LockProject(file)
	if err != nil {
		t.Fatal(err)
	}
	l.Unlock()
	l, _ = LockProject(filepath.Join(t.TempDir(), DefaultFile))
	l.Abandon()
	if entries, _ := os.ReadDir(filepath.Dir(l.dir)); len(entries) != 0 {
		t.Errorf("an abandoned new project left %v", entries)
	}
}
