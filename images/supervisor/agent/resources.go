package agent

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// minFree is the free space below which a volume counts as full: Claude and git cannot
// write their state, and health says so.
const minFree = 1 << 20

// problems lists what keeps the agent from working although its session runs: processes
// the kernel killed for memory, full volumes.
func problems(cfg Config) (oomKills int, list []string) {
	if n := oomKillCount(cgroupMemoryFiles...); n > 0 {
		oomKills = n
		list = append(list, fmt.Sprintf("the kernel killed %d process(es) for exceeding the memory limit", n))
	}
	for _, d := range []struct{ name, path string }{{"workspace", cfg.Workspace}, {"config dir", cfg.ClaudeConfigDir}} {
		var st syscall.Statfs_t
		if syscall.Statfs(d.path, &st) != nil {
			continue
		}
		if free := st.Bavail * uint64(st.Bsize); free < minFree {
			list = append(list, fmt.Sprintf("the %s %s is full (%d bytes free): free some space", d.name, d.path, free))
		}
	}
	return oomKills, list
}

// cgroupMemoryFiles are the container's memory cgroup files that count OOM kills:
// memory.events (cgroup v2) and memory.oom_control (v1).
var cgroupMemoryFiles = []string{"/sys/fs/cgroup/memory.events", "/sys/fs/cgroup/memory/memory.oom_control"}

// oomKillCount reads the first of files that has an oom_kill line: the processes the
// kernel killed at the memory limit.
func oomKillCount(files ...string) int {
	for _, path := range files {
		f, err := os.Open(path)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if v, ok := strings.CutPrefix(sc.Text(), "oom_kill "); ok {
				f.Close()
				n, _ := strconv.Atoi(strings.TrimSpace(v))
				return n
			}
		}
		f.Close()
	}
	return 0
}
