package agent

import (
	"bytes"
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"

	"github.com/docker-magents/docker-magents/images/supervisor/atomicfile"
)

// Kicks: whatever changes what the supervisor reports — a hook's state, a restart asked
// for — kicks it with SIGUSR1, so that it looks at once instead of at its next timeout
// (see waiter). It names itself in the run dir for that.
func supervisorPIDFile(cfg Config) string { return filepath.Join(cfg.RunDir, "supervisor.pid") }

// listenForKicks makes SIGUSR1 kick this process's waiters until ctx ends, and names this
// process as the supervisor. It runs before anything can kick: SIGUSR1 unhandled ends a
// process.
func listenForKicks(ctx context.Context, cfg Config) error {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGUSR1)
	go func() {
		defer signal.Stop(ch)
		for {
			select {
			case <-ch:
				kickWaiters()
			case <-ctx.Done():
				return
			}
		}
	}()
	return atomicfile.Write(supervisorPIDFile(cfg), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644)
}

// kick makes the supervisor look now. The PID it names is kicked only while it is the
// supervisor (a kick is SIGUSR1, which would end another program).
func kick(cfg Config) {
	b, err := os.ReadFile(supervisorPIDFile(cfg))
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b)))
	switch {
	case err != nil || pid <= 1:
		return
	case pid == os.Getpid():
		kickWaiters()
		return
	}
	// By its name (comm), which anyone may read: the supervisor is not dumpable (its
	// program is execute-only), so its /proc/PID/exe is not the agent's to read.
	comm, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/comm")
	if self, serr := os.Executable(); err != nil || serr != nil || string(bytes.TrimSpace(comm)) != commOf(filepath.Base(self)) {
		return
	}
	_ = syscallKill(pid, syscall.SIGUSR1)
}

// commOf is a program's name as the kernel keeps it (comm): at most 15 bytes.
func commOf(name string) string {
	if len(name) > 15 {
		return name[:15]
	}
	return name
}
