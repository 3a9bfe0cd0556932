package agent

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
)

// tmux drives the tmux server on its default socket under $TMUX_TMPDIR, the fixed place
// where `docker exec CONTAINER tmux attach -t claude` also looks.
type tmux struct {
	session string
}

func (t tmux) run(args ...string) (string, error) {
	var stderr bytes.Buffer
	cmd := exec.Command("tmux", args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return "", fmt.Errorf("tmux %s: %s", args[0], msg)
		}
		return "", fmt.Errorf("tmux %s: %w", args[0], err)
	}
	return strings.TrimSpace(string(out)), nil
}

// target names the session exactly ("=claude"), not by prefix.
func (t tmux) target() string { return "=" + t.session }

// paneTarget names the session's active pane ("=claude:"); commands that take a pane
// (capture-pane, send-keys) do not resolve a bare "=claude".
func (t tmux) paneTarget() string { return "=" + t.session + ":" }

func (t tmux) hasSession() bool {
	_, err := t.run("has-session", "-t", t.target())
	return err == nil
}

// newSession starts the detached session running argv in dir.
func (t tmux) newSession(dir string, argv ...string) error {
	args := []string{"new-session", "-d", "-s", t.session, "-x", "200", "-y", "50"}
	if dir != "" {
		args = append(args, "-c", dir)
	}
	_, err := t.run(append(args, argv...)...)
	return err
}

// panePID is the PID of the process running in the session's pane (the agent).
func (t tmux) panePID() (int, error) {
	p, err := t.pane()
	return p.PID, err
}

func (t tmux) killServer() { _, _ = t.run("kill-server") }

func (t tmux) killSession() { _, _ = t.run("kill-session", "-t", t.target()) }

// attach runs a tmux client attached to the session on this process's terminal.
func (t tmux) attach() error {
	cmd := exec.Command("tmux", "attach-session", "-t", t.target())
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	return cmd.Run()
}

func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	// Signal 0 checks existence; EPERM still means the process exists.
	err := syscallKill(pid, 0)
	return err == nil || isEPERM(err)
}

// paneProcess is the process in the session's pane and the tmux server holding the
// session, each named by PID and start time (so a PID the kernel has given to another
// process since is not taken for it).
type paneProcess struct {
	PID         int    `json:"pid"`
	Start       uint64 `json:"start,omitempty"` // clock ticks after boot (/proc/PID/stat)
	Server      int    `json:"server,omitempty"`
	ServerStart uint64 `json:"serverStart,omitempty"`
}

// alive reports whether the pane's process and its tmux server still run: kill(0) and a
// small read each, not a tmux client (false for the zero paneProcess). Both: a process may
// outlive its session (SIGHUP ignored, or not yet handled).
func (p paneProcess) alive() bool {
	return runs(p.PID, p.Start) && runs(p.Server, p.ServerStart)
}

// runs reports whether the process pid that started at start runs (an exited one not yet
// reaped does not).
func runs(pid int, start uint64) bool {
	if !processAlive(pid) {
		return false
	}
	st, zombie := procStat(pid)
	return st == start && !zombie
}

// processStart is when pid started (field 22 of /proc/PID/stat), 0 where /proc cannot say.
func processStart(pid int) uint64 {
	st, _ := procStat(pid)
	return st
}

// procStat reads pid's start time and whether it has exited unreaped (state Z).
func procStat(pid int) (start uint64, zombie bool) {
	// Read with plain system calls (open, read, close): it runs every second in every
	// agent, and os.ReadFile adds the poller's half dozen more.
	fd, err := syscall.Open("/proc/"+strconv.Itoa(pid)+"/stat", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return 0, false
	}
	buf := make([]byte, 1024)
	n, err := syscall.Read(fd, buf)
	syscall.Close(fd)
	if err != nil || n <= 0 {
		return 0, false
	}
	b := buf[:n]
	// The command name (field 2) may hold spaces and parentheses: fields after it count
	// from its last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return 0, false
	}
	start, _ = strconv.ParseUint(f[19], 10, 64)
	return start, f[0] == "Z" || f[0] == "X"
}

// pane asks tmux for the session's pane process (the agent) and its server.
func (t tmux) pane() (paneProcess, error) {
	out, err := t.run("list-panes", "-t", t.target(), "-F", "#{pane_pid} #{pane_dead} #{pid}")
	if err != nil {
		return paneProcess{}, err
	}
	first, _, _ := strings.Cut(out, "\n")
	var p paneProcess
	var dead int
	if _, err := fmt.Sscan(first, &p.PID, &dead, &p.Server); err != nil {
		return paneProcess{}, fmt.Errorf("tmux list-panes: %q: %w", first, err)
	}
	if dead == 1 {
		return paneProcess{}, fmt.Errorf("the agent in session %s has exited", t.session)
	}
	p.Start, p.ServerStart = processStart(p.PID), processStart(p.Server)
	return p, nil
}

// sessionWatch says whether the session runs without a tmux client per look: tmux is
// asked for the pane's process once, which is then watched by PID; tmux is asked again only
// once that process is gone (the session may hold other windows the user opened). With 64
// agents, a tmux client twice a second in each was a good part of an idle fleet's cost.
type sessionWatch struct {
	t      tmux
	p      paneProcess
	onPane func(paneProcess) // told each pane process found (and the zero one when none)
}

func (w *sessionWatch) alive() bool {
	if w.p.alive() {
		return true
	}
	if !w.t.hasSession() {
		w.found(paneProcess{})
		return false
	}
	p, err := w.t.pane()
	if err != nil {
		p = paneProcess{}
	}
	w.found(p)
	return true
}

func (w *sessionWatch) found(p paneProcess) {
	if p != w.p && w.onPane != nil {
		w.onPane(p)
	}
	w.p = p
}
