package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/config/credentials"
	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/internal/auth"
	"github.com/docker-magents/docker-magents/internal/fleet"
)

func authCmd(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "auth",
		Short: "Manage the credential the fleet's agents share",
		Long: `The agents of a fleet share one credential that can be shared: a token from
'claude setup-token', an API key, or a gateway token. It is kept in your Docker
credential store (the helper 'docker login' uses) or in .magents/secrets/, and reaches
the agents as a file, never in the compose file or 'docker inspect'.

Which source wins (highest first): an explicit flag to up; the stored credential
(auth setup); the environment (ANTHROPIC_AUTH_TOKEN, ANTHROPIC_API_KEY,
CLAUDE_CODE_OAUTH_TOKEN, CLAUDE_AUTH_TOKEN); the host's own Claude login (one agent only).`,
	}
	cmd.AddCommand(
		authSetupCmd(dockerCli, root),
		authStatusCmd(dockerCli, root),
		authExportCmd(dockerCli, root),
		authRotateCmd(dockerCli, root),
		authDeployCmd(dockerCli, root),
	)
	return cmd
}

// authProject is the fleet the auth commands act on: the saved one, or the defaults of
// the project `up` would create (so auth setup can come first).
func (r *rootOptions) authProject() (*fleet.Fleet, error) {
	f, _, err := r.fleetOrNew()
	return f, err
}

// effectiveCredential is the credential the agents get on the next up: auth.Resolve's
// precedence, then what an earlier up gave them.
func effectiveCredential(dockerCli command.Cli, f *fleet.Fleet, flag *auth.Credential) (auth.Effective, error) {
	eff, err := auth.Resolve(flag, credentialStore(dockerCli, f), os.Getenv, max(f.Agents, 1))
	if !errors.Is(err, auth.ErrNoCredential) {
		return eff, err
	}
	if v := f.AgentCredential(); v != "" {
		b, rerr := os.ReadFile(filepath.Join(f.AgentSecretsDir(), fleet.SecretFileName(v)))
		if rerr != nil {
			return eff, fmt.Errorf("reading the agents' credential file: %w", rerr)
		}
		c, cerr := auth.New(v, string(b))
		if cerr != nil {
			return eff, cerr
		}
		return auth.Effective{Source: auth.SourceAgents, Credential: &c}, nil
	}
	return eff, err
}

func credentialStore(dockerCli command.Cli, f *fleet.Fleet) auth.Store {
	cs := dockerCli.ConfigFile().CredentialsStore
	// The docker CLI fills in a platform default when config.json names no helper.
	guessed := cs != "" && cs == credentials.DetectDefaultStore("") && !configNamesStore(dockerCli)
	return auth.NewStore(cs, guessed, f.Project, f.SecretsDir(), dockerCli.Err())
}

// configNamesStore reports whether config.json itself sets credsStore.
func configNamesStore(dockerCli command.Cli) bool {
	b, err := os.ReadFile(dockerCli.ConfigFile().Filename)
	if err != nil {
		return false
	}
	var raw struct {
		CredsStore string `json:"credsStore"`
	}
	return json.Unmarshal(b, &raw) == nil && raw.CredsStore != ""
}

// newCredential reads a credential the way auth setup and rotate take one.
func newCredential(dockerCli command.Cli, apiKey, fromEnv bool, file string) (*auth.Credential, error) {
	switch {
	case fromEnv:
		c, err := auth.FromEnv(os.Getenv)
		if err != nil {
			return nil, err
		}
		if c == nil {
			return nil, errors.New("--from-env: none of ANTHROPIC_AUTH_TOKEN, ANTHROPIC_API_KEY, CLAUDE_CODE_OAUTH_TOKEN, CLAUDE_AUTH_TOKEN is set")
		}
		return c, nil
	case apiKey || file != "":
		if file == "" {
			file = "-"
		}
		v, err := readSecretInput(dockerCli, file)
		if err != nil {
			return nil, err
		}
		name := "ANTHROPIC_API_KEY"
		if !apiKey {
			name = guessVar(v)
		}
		c, err := auth.New(name, v)
		return &c, err
	}
	return nil, nil
}

// guessVar names a token read from a file by its prefix: setup tokens start sk-ant-oat.
func guessVar(v string) string {
	if len(v) >= 10 && v[:10] == "sk-ant-oat" {
		return "CLAUDE_CODE_OAUTH_TOKEN"
	}
	return "ANTHROPIC_API_KEY"
}
