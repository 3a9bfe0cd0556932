package agent

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/docker-magents/docker-magents/images/supervisor/agentenv"
	"github.com/docker-magents/docker-magents/images/supervisor/envvar"
	"github.com/docker-magents/docker-magents/images/supervisor/logs"
)

// Config is everything the supervisor reads from its environment.
type Config struct {
	ClaudeConfigDir string        // CLAUDE_CONFIG_DIR
	AuthDir         string        // MAGENTS_AUTH_DIR: read-only mount of a host's Claude login (the guide's /auth)
	Workspace       string        // MAGENTS_WORKSPACE: the directory Claude works in and trusts
	RunDir          string        // MAGENTS_RUN_DIR: status file and session log
	Session         string        // MAGENTS_SESSION: the tmux session name
	AgentCmd        string        // MAGENTS_AGENT_CMD: what runs in the session (a shell command line)
	HealthAddr      string        // MAGENTS_HEALTH_ADDR, or ":$PORT": serve /healthz and /readyz
	MinBackoff      time.Duration // MAGENTS_RESTART_BACKOFF: the first restart delay, doubled up to MaxBackoff
	MaxBackoff      time.Duration
	StopTimeout     time.Duration // how long the agent gets to exit on SIGTERM
	Attach          bool          // MAGENTS_ATTACH=0 turns off the foreground attach on a TTY
	AuthCheck       bool          // MAGENTS_AUTH_CHECK=1: ask the model API whether it takes the credential at each start
	PermissionMode  string        // MAGENTS_PERMISSION_MODE: Claude's permissions.defaultMode
	SharedConfig    bool          // MAGENTS_SHARED_CONFIG=1: the fleet delivers a shared config (agentconfig)
	DeliveredConfig string        // MAGENTS_CONFIG_DIR: where compose puts it (default /etc/magents/config)
	// WorkDir (MAGENTS_WORKDIR) is where Claude works, when not the workspace itself: a
	// directory inside it (the fleet's workspace below its repository's top).
	WorkDir string
}

// workdir is where Claude works: WorkDir when it is a directory inside the workspace,
// else the workspace.
func (c Config) workdir() string {
	if c.WorkDir != "" {
		rel, err := filepath.Rel(c.Workspace, c.WorkDir)
		if st, serr := os.Stat(c.WorkDir); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") && serr == nil && st.IsDir() {
			return c.WorkDir
		}
	}
	return c.Workspace
}

// ConfigFromEnv reads the Config; a setting it cannot read is said and left at its default.
func ConfigFromEnv() Config {
	home := envvar.Get("HOME", "/home/magents")
	cfg := Config{
		ClaudeConfigDir: envvar.Get("CLAUDE_CONFIG_DIR", filepath.Join(home, ".claude")),
		AuthDir:         envvar.Get(agentenv.AuthDir, "/auth"),
		Workspace:       envvar.Get(agentenv.Workspace, "/workspace"),
		WorkDir:         os.Getenv(agentenv.WorkDir),
		RunDir:          envvar.Get(agentenv.RunDir, envvar.Get("TMUX_TMPDIR", "/run/magents")),
		Session:         envvar.Get(agentenv.Session, "claude"),
		AgentCmd:        envvar.Get(agentenv.AgentCmd, "claude"),
		HealthAddr:      os.Getenv(agentenv.HealthAddr),
		MinBackoff:      duration(agentenv.RestartBackoff, time.Second),
		MaxBackoff:      30 * time.Second,
		StopTimeout:     duration(agentenv.StopTimeout, 7*time.Second),
		Attach:          os.Getenv(agentenv.Attach) != "0",
		AuthCheck:       envvar.IsTrue(os.Getenv(agentenv.AuthCheck)),
		PermissionMode:  os.Getenv(agentenv.PermissionMode),
		SharedConfig:    os.Getenv(agentenv.SharedConfig) == "1",
		DeliveredConfig: envvar.Get(agentenv.ConfigDir, "/etc/magents/config"),
	}
	if cfg.HealthAddr == "" {
		if port := os.Getenv("PORT"); port != "" {
			cfg.HealthAddr = ":" + port
		}
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = cfg.MinBackoff
	}
	return cfg
}

// duration reads a Go duration ("5s") or a number of seconds.
func duration(key string, def time.Duration) time.Duration {
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	if d, err := time.ParseDuration(v); err == nil && d >= 0 {
		return d
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	logs.Printf("ignoring %s=%q: not a duration such as 5s", key, v)
	return def
}
