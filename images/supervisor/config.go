package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/docker-magents/docker-magents/images/supervisor/agentenv"
)

// config is everything the supervisor reads from its environment.
type config struct {
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
func (c config) workdir() string {
	if c.WorkDir != "" {
		rel, err := filepath.Rel(c.Workspace, c.WorkDir)
		if st, serr := os.Stat(c.WorkDir); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") && serr == nil && st.IsDir() {
			return c.WorkDir
		}
	}
	return c.Workspace
}

func configFromEnv() config {
	home := env("HOME", "/home/magents")
	cfg := config{
		ClaudeConfigDir: env("CLAUDE_CONFIG_DIR", filepath.Join(home, ".claude")),
		AuthDir:         env(agentenv.AuthDir, "/auth"),
		Workspace:       env(agentenv.Workspace, "/workspace"),
		WorkDir:         os.Getenv(agentenv.WorkDir),
		RunDir:          env(agentenv.RunDir, env("TMUX_TMPDIR", "/run/magents")),
		Session:         env(agentenv.Session, "claude"),
		AgentCmd:        env(agentenv.AgentCmd, "claude"),
		HealthAddr:      os.Getenv(agentenv.HealthAddr),
		MinBackoff:      duration(agentenv.RestartBackoff, time.Second),
		MaxBackoff:      30 * time.Second,
		StopTimeout:     duration(agentenv.StopTimeout, 7*time.Second),
		Attach:          os.Getenv(agentenv.Attach) != "0",
		AuthCheck:       isTrue(os.Getenv(agentenv.AuthCheck)),
		PermissionMode:  os.Getenv(agentenv.PermissionMode),
		SharedConfig:    os.Getenv(agentenv.SharedConfig) == "1",
		DeliveredConfig: env(agentenv.ConfigDir, "/etc/magents/config"),
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

func env(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
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
	logf("ignoring %s=%q: not a duration such as 5s", key, v)
	return def
}
