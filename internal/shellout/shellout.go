// Package shellout runs other docker CLI commands (docker compose, docker exec) from the
// plugin against the engine the plugin itself was invoked for, the way compose's own
// shell-out does: same docker binary, same context or DOCKER_HOST, same config dir, and
// without the plugin re-exec marker, so a child plugin knows it runs on its own.
package shellout

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
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
	dcontext "github.com/docker/cli/cli/context"
	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/internal/atomicfile"
)

// Docker runs docker CLI commands.
type Docker struct {
	path string
	env  []string
	cfg  config.Provider // where the docker CLI finds its plugins
	err  error           // why a command cannot reach the engine as the plugin does
}

// New returns a runner for dockerCli's engine. When the engine's TLS material cannot be
// kept for the child, its commands fail with that error when run.
func New(dockerCli command.Cli) *Docker {
	path := os.Getenv(metadata.ReexecEnvvar)
	if path == "" {
		path = "docker"
	}
	contextName := dockerCli.CurrentContext()
	named := contextName != "" && contextName != "default"
	var (
		env    []string
		tlsErr error
	)
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case metadata.ReexecEnvvar, "DOCKER_HOST", "DOCKER_CONTEXT":
			continue
		case "DOCKER_TLS", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH":
			if !named {
				continue // the endpoint below says what TLS the child uses
			}
		}
		env = append(env, kv)
	}
	if named {
		// The context store holds its TLS material; the child reads it from there.
		env = append(env, "DOCKER_CONTEXT="+contextName)
	} else if ep := dockerCli.DockerEndpoint(); ep.Host != "" {
		// Covers DOCKER_HOST and docker -H alike, and the TLS that DOCKER_TLS_VERIFY,
		// DOCKER_CERT_PATH or docker's --tls* flags gave the plugin.
		env = append(env, "DOCKER_HOST="+ep.Host)
		if ep.TLSData != nil {
			var tlsEnv []string
			tlsEnv, tlsErr = tlsEnvironment(configDir(dockerCli), ep.TLSData, !ep.SkipTLSVerify)
			env = append(env, tlsEnv...)
		}
	}
	env = append(env, "DOCKER_CONFIG="+configDir(dockerCli))
	return &Docker{path: path, env: env, cfg: dockerCli, err: tlsErr}
}

// configDir is the Docker config dir the plugin was given (--config, DOCKER_CONFIG, else
// ~/.docker), which its children get too.
func configDir(dockerCli command.Cli) string {
	if cfg := dockerCli.ConfigFile(); cfg != nil && cfg.Filename != "" {
		return filepath.Dir(cfg.Filename)
	}
	return config.Dir()
}

// tlsEnvironment is how a docker CLI child reaches a TLS endpoint: the endpoint's CA,
// certificate and key in a directory of their own under the Docker config dir (0700, named
// by their digest, as the context store keeps a context's), named by DOCKER_CERT_PATH.
func tlsEnvironment(configDir string, data *dcontext.TLSData, verify bool) ([]string, error) {
	sum := sha256.New()
	for _, b := range [][]byte{data.CA, data.Cert, data.Key} {
		fmt.Fprintf(sum, "%d:", len(b))
		sum.Write(b)
	}
	dir := filepath.Join(configDir, "magents", "tls", hex.EncodeToString(sum.Sum(nil))[:16])
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("keeping the engine's TLS material for docker and compose: %w", err)
	}
	for name, b := range map[string][]byte{"ca.pem": data.CA, "cert.pem": data.Cert, "key.pem": data.Key} {
		if have, err := os.ReadFile(filepath.Join(dir, name)); len(b) == 0 || err == nil && bytes.Equal(have, b) {
			continue
		}
		if err := atomicfile.Write(filepath.Join(dir, name), b, 0o600); err != nil {
			return nil, fmt.Errorf("keeping the engine's TLS material for docker and compose: %w", err)
		}
	}
	env := []string{"DOCKER_CERT_PATH=" + dir, "DOCKER_TLS=1"}
	if verify {
		env = append(env, "DOCKER_TLS_VERIFY=1")
	}
	return env, nil
}

// Command is `docker ARGS…` with the plugin's engine settings and the user's terminal.
func (d *Docker) Command(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, d.path, args...)
	cmd.Env = d.env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if d.err != nil {
		cmd.Err = d.err // Run, Start and Output return it
	}
	return cmd
}

// Compose finds compose v2 or newer: the docker compose plugin, else a docker-compose
// binary of version 2 or newer.
//
// The plugin is found as the docker CLI finds it (its plugin dirs, the config's
// cliPluginsExtraDirs) and asked only for its metadata, one exec instead of the three of
// `docker compose version`.
func (d *Docker) Compose(ctx context.Context) (*Compose, error) {
	if d.err != nil {
		return nil, d.err
	}
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

// Run runs a command and names it in its error; a command that ran and failed gives an
// *ExitError with its exit code.
func Run(cmd *exec.Cmd) error {
	if err := cmd.Run(); err != nil {
		if exit, ok := errors.AsType[*exec.ExitError](err); ok && exit.ExitCode() > 0 {
			return &ExitError{Command: filepath.Base(cmd.Path) + " " + strings.Join(cmd.Args[1:], " "), Code: exit.ExitCode()}
		}
		return err
	}
	return nil
}

// ExitError is a command that exited with a non-zero code: the plugin exits with the same
// code, as docker exec and compose pass on their child's.
type ExitError struct {
	Command string
	Code    int
}

func (e *ExitError) Error() string { return fmt.Sprintf("%s exited with %d", e.Command, e.Code) }
