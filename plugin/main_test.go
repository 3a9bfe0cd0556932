package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/docker/cli/cli-plugins/plugin"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"
)

// TestMain lets a test run this binary as the plugin framework alone would (plugin.Run
// reads os.Args), to compare answers.
func TestMain(m *testing.M) {
	if os.Getenv("MAGENTS_TEST_FRAMEWORK") == "1" {
		plugin.Run(func(dockerCli command.Cli) *cobra.Command { return newRootCmd(dockerCli) }, meta)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// The metadata answered before the CLI is built is, byte for byte, the plugin framework's.
func TestMetadataFastPathIsTheFrameworks(t *testing.T) {
	var fast bytes.Buffer
	if err := writeMetadata(&fast); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	child := exec.Command(exe, "docker-cli-plugin-metadata")
	child.Env = append(os.Environ(), "MAGENTS_TEST_FRAMEWORK=1", "DOCKER_CONFIG="+filepath.Join(t.TempDir(), "cfg"))
	out, err := child.Output()
	if err != nil {
		t.Fatalf("the framework's metadata: %v", err)
	}
	if !bytes.Equal(fast.Bytes(), out) {
		t.Errorf("fast path:\n%s\nframework:\n%s", fast.Bytes(), out)
	}
}
