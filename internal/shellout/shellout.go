// Package shellout runs other docker CLI commands (docker compose, docker exec) from the
// plugin against the engine the plugin itself was invoked for, the way compose's own
// shell-out does: same docker binary, same context or DOCKER_HOST, same config dir, and
// without the plugin re-exec marker, so a child plugin knows it runs on its own.
package shellout

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/docker/cli/cli-plugins/manager"
	"github.com/docker/cli/cli-plugins/metadata"
	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/config"
	"github.com/spf13/cobra"
)

// Docker runs docker CLI commands.
type Docker struct {
	path string
	env  []string
	cfg  config.Provider // where the docker CLI finds its plugins
}

// New returns a runner for dockerCli's engine.
func New(dockerCli command.Cli) *Docker {
	path := os.Getenv(metadata.ReexecEnvvar)
	if path == "" {
		path = "docker"
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case metadata.ReexecEnvvar, "DOCKER_HOST", "DOCKER_CONTEXT":
			continue
		}
		env = append(env, kv)
	}
	if name := dockerCli.CurrentContext(); name != "" && name != "default" {
		env = append(env, "DOCKER_CONTEXT="+name)
	} else if host := dockerCli.DockerEndpoint().Host; host != "" {
		// Covers DOCKER_HOST and docker -H alike.
		env = append(env, "DOCKER_HOST="+host)
	}
	if cfg := dockerCli.ConfigFile(); cfg != nil && cfg.Filename != "" {
		env = append(env, "DOCKER_CONFIG="+filepath.Dir(cfg.Filename))
	}
	return &Docker{path: path, env: env, cfg: dockerCli}
}

// Command is `docker ARGS…` with the plugin's engine settings and the user's terminal.
func (d *Docker) Command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, d.path, args...)
	cmd.Env = d.env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	return cmd
}

// Compose finds compose v2 or newer: the docker compose plugin, else a docker-compose
// binary of version 2 or newer.
//
// The plugin is found as the docker CLI finds it (its plugin dirs, the config's
// cliPluginsExtraDirs) and asked only for its metadata, one exec instead of the three of
// `docker compose version`.
func (d *Docker) Compose(ctx context.Context) (*Compose, error) {
	if p, err := manager.GetPlugin("compose", d.cfg, &cobra.Command{}); err == nil && p.Err == nil && majorAtLeast2(p.Version) {
		return &Compose{d: d, bin: d.path, pre: []string{"compose"}, Version: strings.TrimPrefix(p.Version, "v")}, nil
	}
	if bin, err := exec.LookPath("docker-compose"); err == nil {
		if out, err := d.output(ctx, bin, "version", "--short"); err == nil && majorAtLeast2(out) {
			return &Compose{d: d, bin: bin, Version: out}, nil
		}
	}
	return nil, errors.New("docker compose v2 is not installed: install the compose plugin " +
		"(Debian/Ubuntu: apt-get install docker-compose-plugin; or build it: bash hack/build-tools.sh compose) " +
		"and check that 'docker compose version' works")
}

func (d *Docker) output(ctx context.Context, bin string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = d.env
	out, err := cmd.Output()
	return strings.TrimSpace(string(out)), err
}

func majorAtLeast2(v string) bool {
	v = strings.TrimPrefix(strings.TrimSpace(v), "v")
	major, _, _ := strings.Cut(v, ".")
	return major != "" && major != "0" && major != "1"
}

// Compose runs docker compose on one file and project.
type Compose struct {
	d       *Docker
	bin     string
	pre     []string
	Version string // as compose version --short prints it
}

// Command is `docker compose -f FILE -p PROJECT ARGS…`.
func (c *Compose) Command(ctx context.Context, file, project string, args ...string) *exec.Cmd {
	all := append(append([]string{}, c.pre...), "-f", file, "-p", project)
	cmd := exec.CommandContext(ctx, c.bin, append(all, args...)...)
	cmd.Env = c.d.env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	return cmd
}

// Run runs a command and names it in its error.
func Run(cmd *exec.Cmd) error {
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return fmt.Errorf("%s %s exited with %d", filepath.Base(cmd.Path), strings.Join(cmd.Args[1:], " "), exit.ExitCode())
		}
		return err
	}
	return nil
}
