// Package agent is the agent container's supervisor: it prepares Claude Code's config dir
// and credentials, keeps the agent running in a detached tmux session (restarted with
// backoff), records what Claude's hooks report and reports the agent's health; it gives
// the agent its tasks (its own, or the fleet's work queue's), clones its workspace, places
// the fleet's shared config, and carries the agent's traffic to the fleet's egress proxy.
package agent

import (
	"fmt"
	"os"
	"os/exec"
	"syscall"

	"github.com/docker-magents/docker-magents/images/supervisor/credential"
	"github.com/docker-magents/docker-magents/images/supervisor/logs"
)

// Exec prepares Claude's config dir and credentials and replaces this process with
// the agent command: args when given, else $MAGENTS_AGENT_CMD through /bin/sh. It runs
// on every start of the session, so changed secret files are read again each time.
func Exec(cfg Config, args []string) {
	creds, err := credential.Resolve(os.Getenv)
	if err != nil {
		fail(err)
	}
	if err := prepareConfigDir(cfg, creds.Env["ANTHROPIC_API_KEY"]); err != nil {
		// Claude can still start (it then shows its own first-run screens); say why.
		logs.Printf("preparing Claude's config dir: %v", err)
	}
	if self, err := os.Executable(); err == nil {
		if err := configureAgent(cfg, self); err != nil {
			logs.Printf("writing Claude's settings (the agent's state will not be reported): %v", err)
		}
	}
	if len(args) == 0 && len(os.Args) > 1 && os.Args[1] == "agent" {
		// The session's start: the project's lifecycle commands first, on its screen.
		runLifecycle(cfg, os.Stdout)
	}
	if len(args) == 0 && headless(cfg) {
		if st, err := os.Stat(cfg.workdir()); err == nil && st.IsDir() {
			_ = os.Chdir(cfg.workdir())
		}
		runHeadless(cfg, credential.Environ(os.Environ(), creds))
	}
	if len(args) == 0 {
		args = []string{"/bin/sh", "-c", "exec " + cfg.AgentCmd}
	}
	path, err := exec.LookPath(args[0])
	if err != nil {
		fail(fmt.Errorf("%s: command not found in the image", args[0]))
	}
	if st, err := os.Stat(cfg.workdir()); err == nil && st.IsDir() && len(os.Args) > 1 && os.Args[1] == "agent" {
		_ = os.Chdir(cfg.workdir())
	}
	fail(syscall.Exec(path, args, credential.Environ(os.Environ(), creds)))
}

func fail(err error) {
	logs.Printf("%v", err)
	os.Exit(127)
}
