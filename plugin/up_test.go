package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/pflag"

	"github.com/docker-magents/docker-magents/internal/fleet"
)

// upFlags parses args with up's own flag set, as cobra would.
func upFlags(t *testing.T, args ...string) (upOptions, *pflag.FlagSet) {
	t.Helper()
	var cli command.Cli
	cmd := upCmd(cli, &rootOptions{})
	if err := cmd.Flags().Parse(args); err != nil {
		t.Fatal(err)
	}
	var opts upOptions
	// Read the parsed values back through the flag set.
	opts.agents, _ = cmd.Flags().GetInt("agents")
	opts.memory, _ = cmd.Flags().GetString("memory")
	opts.workspace, _ = cmd.Flags().GetString("workspace")
	opts.user, _ = cmd.Flags().GetString("user")
	opts.image, _ = cmd.Flags().GetString("image")
	opts.envFile, _ = cmd.Flags().GetString("env-file")
	return opts, cmd.Flags()
}

// Flags left out on a later up keep their saved values; a new project starts with 1 agent.
func TestUpFlagsKeepSavedValues(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil { // writable by the agents' user
		t.Fatal(err)
	}
	f := fleet.New("magents", filepath.Join(dir, fleet.DefaultFile))
	opts, flags := upFlags(t)
	if err := applyUpSettings(f, opts, flags, true); err != nil {
		t.Fatal(err)
	}
	if f.Agents != 1 {
		t.Errorf("a new project has %d agents, want 1", f.Agents)
	}
	f.Agents, f.Memory = 5, "8g"
	opts, flags = upFlags(t, "--image", "example/agent:1")
	if err := applyUpSettings(f, opts, flags, false); err != nil {
		t.Fatal(err)
	}
	if f.Agents != 5 || f.Memory != "8g" || f.Image != "example/agent:1" {
		t.Errorf("after up --image: %+v", f)
	}
	opts, flags = upFlags(t, "--agents", "2", "--user", "1234:5678")
	if err := applyUpSettings(f, opts, flags, false); err != nil {
		t.Fatal(err)
	}
	if f.Agents != 2 || f.User != "1234:5678" {
		t.Errorf("after up --agents 2 --user: %+v", f)
	}
}

// applyUpSettings gives f what up's flags give, as up does.
func applyUpSettings(f *fleet.Fleet, opts upOptions, flags *pflag.FlagSet, newProject bool) error {
	s, err := upSettings(opts, flags)
	if err != nil {
		return err
	}
	return s.Apply(f, newProject)
}

// up's flags become the request's settings: what was given, as given; what was not, nil
// (the saved value stays); --task with --tasks is refused before anything is asked.
func TestUpFlagsBecomeSettings(t *testing.T) {
	tasks := filepath.Join(t.TempDir(), "tasks.yaml")
	if err := os.WriteFile(tasks, []byte("- one\n- two\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := upCmd(nil, &rootOptions{})
	if err := cmd.Flags().Parse([]string{"--agents", "3", "--egress", "open", "--gateway-allow", "web_search", "--tasks", tasks, "--settings", ""}); err != nil {
		t.Fatal(err)
	}
	opts := upOptions{agents: 3, egress: "open", gatewayAllow: []string{"web_search"}, tasksFile: tasks}
	s, err := upSettings(opts, cmd.Flags())
	if err != nil {
		t.Fatal(err)
	}
	if s.Agents == nil || *s.Agents != 3 || s.Egress == nil || *s.Egress != "open" || s.GatewayAllow == nil || (*s.GatewayAllow)[0] != "web_search" {
		t.Errorf("given settings: %+v", s)
	}
	if s.Tasks == nil || len(*s.Tasks) != 2 || (*s.Tasks)[1] != "two" {
		t.Errorf("--tasks: %v", s.Tasks)
	}
	if s.ClaudeSettings == nil || *s.ClaudeSettings != "" {
		t.Errorf(`--settings "" drops the settings: %v`, s.ClaudeSettings)
	}
	if s.Memory != nil || s.Image != nil || s.Workspace != nil || s.Isolation != nil || s.Docker != nil {
		t.Errorf("settings not given are set: %+v", s)
	}
	both := upCmd(nil, &rootOptions{})
	if err := both.Flags().Parse([]string{"--task", "x", "--tasks", tasks}); err != nil {
		t.Fatal(err)
	}
	if _, err := upSettings(upOptions{tasks: []string{"x"}, tasksFile: tasks}, both.Flags()); err == nil || !strings.Contains(err.Error(), "not both") {
		t.Errorf("--task with --tasks: %v", err)
	}
}
