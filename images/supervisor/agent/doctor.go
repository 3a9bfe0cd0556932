package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/docker-magents/docker-magents/images/supervisor/agentenv"
	"github.com/docker-magents/docker-magents/images/supervisor/agentstate"
	"github.com/docker-magents/docker-magents/images/supervisor/credential"
)

// Doctor is `magents-supervisor doctor`: the checks only the agent's own container can
// make, printed as a JSON array of agentstate.Check. Nothing it prints holds a credential.
func Doctor(cfg Config, w io.Writer) int {
	checks := agentChecks(cfg, os.Getenv)
	_ = json.NewEncoder(w).Encode(checks)
	for _, c := range checks {
		if c.Status == agentstate.CheckFail {
			return 1
		}
	}
	return 0
}

func agentChecks(cfg Config, getenv func(string) string) []agentstate.Check {
	var checks []agentstate.Check
	add := func(name string, status agentstate.CheckStatus, detail, fix string) {
		checks = append(checks, agentstate.Check{Name: name, Status: status, Detail: detail, Fix: fix})
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "claude", "--version").CombinedOutput(); err != nil {
		add("claude", agentstate.CheckFail, fmt.Sprintf("claude --version: %v: %s", err, firstLine(string(out))),
			"rebuild the image: docker magents build")
	} else {
		add("claude", agentstate.CheckOK, strings.TrimSpace(firstLine(string(out))), "")
	}

	t := tmux{session: cfg.Session}
	if out, err := t.run("ls"); err != nil || !t.hasSession() {
		add("tmux", agentstate.CheckFail, fmt.Sprintf("no tmux session %q (%s)", cfg.Session, strings.TrimSpace(out)),
			"the supervisor starts it again by itself; if it keeps failing, see docker magents logs "+agentName(getenv))
	} else {
		add("tmux", agentstate.CheckOK, strings.TrimSpace(firstLine(out)), "")
	}

	for _, d := range []struct{ name, dir, fix string }{
		{"config dir", cfg.ClaudeConfigDir, "the agent's config volume must be writable by uid " + fmt.Sprint(os.Getuid()) + "; remove the volume (docker magents down --volumes) or chown it"},
		{"workspace", cfg.Workspace, "the workspace must be writable by the agent's user: give up --user UID:GID of the workspace's owner"},
	} {
		if err := writable(d.dir); err != nil {
			add(d.name, agentstate.CheckFail, err.Error(), d.fix)
		} else {
			add(d.name, agentstate.CheckOK, d.dir+" is writable by uid "+fmt.Sprint(os.Getuid()), "")
		}
	}

	if getenv(agentenv.ProjectCommands) != "" {
		if f, failed := LifecycleFailure(cfg); failed {
			add("lifecycle", agentstate.CheckFail, f.Error(),
				"fix the command in the project's devcontainer, then docker magents up (see the session: docker magents logs "+agentName(getenv)+")")
		} else {
			add("lifecycle", agentstate.CheckOK, "the project's lifecycle commands ran", "")
		}
	}

	creds, err := credential.Resolve(getenv)
	switch {
	case err != nil:
		add("credential", agentstate.CheckFail, err.Error(), "docker magents auth setup, then docker magents auth rotate")
	case creds.Method == "" && !fileExists(filepath.Join(cfg.ClaudeConfigDir, ".credentials.json")):
		add("credential", agentstate.CheckFail, "the agent has no credential", "docker magents auth setup, then docker magents up")
	default:
		method := creds.Method
		if method == "" {
			method = "login"
		}
		add("credential", agentstate.CheckOK, method, "")
	}
	add(envStatus(getenv))

	// MCP servers whose runtime this image lacks would fail at each Claude start, quietly.
	state, _ := readJSONObject(claudeStatePath(cfg))
	if servers, _ := state["mcpServers"].(map[string]any); len(servers) > 0 {
		var problems []string
		for name, s := range servers {
			m, _ := s.(map[string]any)
			if p := serverRuntimeProblem(name, m); p != "" {
				problems = append(problems, p)
			}
		}
		slices.Sort(problems)
		if len(problems) > 0 {
			add("mcp servers", agentstate.CheckFail, strings.Join(problems, "; "), "see docker magents config show")
		} else {
			add("mcp servers", agentstate.CheckOK, fmt.Sprintf("%d server(s), each runtime present", len(servers)), "")
		}
	}
	return checks
}

// envStatus checks the variables that decide where Claude connects and which CAs it
// trusts. Values shown are endpoints and paths, with any userinfo removed.
func envStatus(getenv func(string) string) (string, agentstate.CheckStatus, string, string) {
	var notes []string
	status, fix := agentstate.CheckOK, ""
	if base := getenv("ANTHROPIC_BASE_URL"); base != "" {
		u, err := url.Parse(base)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return "environment", agentstate.CheckFail, "ANTHROPIC_BASE_URL is not an http(s) URL", "fix ANTHROPIC_BASE_URL in the env file"
		}
		u.User = nil
		notes = append(notes, "ANTHROPIC_BASE_URL="+u.Redacted())
	}
	for _, v := range []string{"SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS"} {
		if p := getenv(v); p != "" {
			if _, err := os.Stat(p); err != nil {
				status, fix = agentstate.CheckWarn, "give the CA bundle with --ca-cert, or unset "+v
				notes = append(notes, v+" names a missing file "+p)
			}
		}
	}
	for _, v := range []string{"HTTPS_PROXY", "https_proxy"} {
		if p := getenv(v); p != "" {
			if u, err := url.Parse(p); err == nil {
				u.User = nil
				notes = append(notes, v+"="+u.Redacted())
			}
			break
		}
	}
	if getenv("CLAUDE_CONFIG_DIR") == "" {
		status, fix = agentstate.CheckWarn, "the image sets CLAUDE_CONFIG_DIR; an override removed it"
		notes = append(notes, "CLAUDE_CONFIG_DIR is not set")
	}
	if len(notes) == 0 {
		notes = append(notes, "Anthropic's API, no proxy")
	}
	return "environment", status, strings.Join(notes, ", "), fix
}

func writable(dir string) error {
	f, err := os.CreateTemp(dir, ".magents-doctor-*")
	if err != nil {
		return fmt.Errorf("%s is not writable by uid %d: %v", dir, os.Getuid(), err)
	}
	f.Close()
	return os.Remove(f.Name())
}

func agentName(getenv func(string) string) string {
	if id := getenv(agentenv.AgentID); id != "" {
		return id
	}
	return "AGENT"
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}
