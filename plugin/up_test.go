package main

import (
	"os"
	"path/filepath"
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
