package agent

import (
	"os"
	"path/filepath"
	"testing"
)

func TestOOMKillCount(t *testing.T) {
	dir := t.TempDir()
	v1 := filepath.Join(dir, "memory.oom_control")
	v2 := filepath.Join(dir, "memory.events")
	if err := os.WriteFile(v1, []byte("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(v2, []byte("low 0\nhigh 0\nmax 4\noom 2\noom_kill 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if n := oomKillCount(filepath.Join(dir, "missing"), v1); n != 3 {
		t.Errorf("cgroup v1: %d", n)
	}
	if n := oomKillCount(v2, v1); n != 2 {
		t.Errorf("cgroup v2 first: %d", n)
	}
	if n := oomKillCount(filepath.Join(dir, "missing")); n != 0 {
		t.Errorf("no cgroup files: %d", n)
	}
}

func TestProblemsOnAHealthyAgent(t *testing.T) {
	old := cgroupMemoryFiles
	cgroupMemoryFiles = nil
	t.Cleanup(func() { cgroupMemoryFiles = old })
	if n, list := problems(Config{Workspace: t.TempDir(), ClaudeConfigDir: t.TempDir()}); n != 0 || len(list) != 0 {
		t.Errorf("problems on plain directories: %d %v", n, list)
	}
}
