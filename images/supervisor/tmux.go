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
