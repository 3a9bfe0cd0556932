package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
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
	out, err := t.run("list-panes", "-t", t.target(), "-F", "#{pane_pid} #{pane_dead}")
	if err != nil {
		return 0, err
	}
	first, _, _ := strings.Cut(out, "\n")
	pid, dead, _ := strings.Cut(first, " ")
	if dead == "1" {
		return 0, fmt.Errorf("the agent in session %s has exited", t.session)
	}
	return strconv.Atoi(pid)
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

// paneProcess is the process in the session's pane, named by PID and start time (so a
// PID the kernel has given to another process since is not taken for it).
type paneProcess struct {
	PID   int    `json:"pid"`
	Start uint64 `json:"start,omitempty"` // clock ticks after boot (/proc/PID/stat)
}

// alive reports whether the pane's process still runs: one kill(0) and one small read,
// not a tmux client.
func (p paneProcess) alive() bool {
	return processAlive(p.PID) && processStart(p.PID) == p.Start
}

// processStart is when pid started (field 22 of /proc/PID/stat), 0 where /proc cannot say.
func processStart(pid int) uint64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name (field 2) may hold spaces and parentheses: fields after it count
	// from its last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return 0
	}
	n, _ := strconv.ParseUint(f[19], 10, 64)
	return n
}

// pane asks tmux for the session's pane process.
func (t tmux) pane() (paneProcess, error) {
	pid, err := t.panePID()
	if err != nil {
		return paneProcess{}, err
	}
	return paneProcess{PID: pid, Start: processStart(pid)}, nil
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
	if w.p.PID > 0 && w.p.alive() {
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
