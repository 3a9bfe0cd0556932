// Package fleetauth is which credential a fleet's agents get, and how: read from a flag,
// a file, stdin or the environment; kept in docker's credential store; resolved in
// auth.Resolve's precedence; handed to the agents as a file. The plugin's up, deploy,
// doctor and auth commands import it.
package fleetauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/docker/cli/cli/command"
	"github.com/docker/cli/cli/config/credentials"
	"golang.org/x/term"

	"github.com/docker-magents/docker-magents/internal/auth"
	"github.com/docker-magents/docker-magents/internal/fleet"
)

// Effective is the credential the agents get on the next up: auth.Resolve's
// precedence, then what an earlier up gave them.
func Effective(dockerCli command.Cli, f *fleet.Fleet, flag *auth.Credential) (auth.Effective, error) {
	eff, err := auth.Resolve(flag, Store(dockerCli, f), os.Getenv, max(f.Agents, 1))
	if !errors.Is(err, auth.ErrNoCredential) {
		return eff, err
	}
	if v := f.AgentCredential(); v != "" {
		b, rerr := os.ReadFile(f.CredentialFile(v))
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

// Store is where the fleet's credential is kept: docker's credential helper, else a
// file in the fleet's secrets dir.
func Store(dockerCli command.Cli, f *fleet.Fleet) auth.Store {
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

// Read reads a credential the way auth setup and rotate take one: from the environment
// (fromEnv), or from file (or stdin for "-") as an API key, or named by its prefix.
func Read(dockerCli command.Cli, apiKey, fromEnv bool, file string) (*auth.Credential, error) {
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
		v, err := readInput(dockerCli, file)
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

// FileFlags reads up's --api-key-file or --oauth-token-file (one of them, or neither).
func FileFlags(dockerCli command.Cli, apiKeyFile, oauthTokenFile string) (*auth.Credential, error) {
	if apiKeyFile != "" && oauthTokenFile != "" {
		return nil, errors.New("give either --api-key-file or --oauth-token-file, not both")
	}
	name, file := "ANTHROPIC_API_KEY", apiKeyFile
	if oauthTokenFile != "" {
		name, file = "CLAUDE_CODE_OAUTH_TOKEN", oauthTokenFile
	}
	if file == "" {
		return nil, nil
	}
	value, err := readInput(dockerCli, file)
	if err != nil {
		return nil, err
	}
	c, err := auth.New(name, value)
	if err != nil {
		return nil, err
	}
	return &c, nil
}

// Decided is the credential the agents are to share: decided, with f's Credential and
// AuthLogin set to say it, and not yet handed to them (nothing is written).
type Decided struct {
	eff  auth.Effective
	none error // no source at all: the agents ask for /login
}

// Decide decides which credential the agents share (auth.Resolve's precedence) and says
// it in f, writing nothing; Hand then gives it to them. A later up with no source at all
// keeps what the agents already have.
func Decide(dockerCli command.Cli, f *fleet.Fleet, flag *auth.Credential) (*Decided, error) {
	eff, err := Effective(dockerCli, f, flag)
	switch {
	case errors.Is(err, auth.ErrNoCredential):
		f.Credential, f.AuthLogin = "", ""
		return &Decided{none: err}, nil
	case err != nil:
		return nil, err
	case eff.Source == auth.SourceHostLogin:
		f.Credential, f.AuthLogin = "", eff.LoginDir
	default:
		f.Credential, f.AuthLogin = eff.Credential.Var, ""
	}
	return &Decided{eff: eff}, nil
}

// Hand gives the decided credential to f's agents as a file (or takes theirs away for the
// host's login), and says which it is.
func (d *Decided) Hand(dockerCli command.Cli, f *fleet.Fleet) error {
	switch {
	case d.none != nil:
		fmt.Fprintf(dockerCli.Err(), "warning: the agents will ask you to /login: %v\n", d.none)
	case d.eff.Source == auth.SourceHostLogin:
		if err := f.ClearAgentCredential(); err != nil {
			return err
		}
		fmt.Fprintln(dockerCli.Err(), auth.HostLoginWarning)
	default:
		if err := f.WriteAgentCredential(d.eff.Credential.Var, d.eff.Credential.Value); err != nil {
			return fmt.Errorf("handing the credential to the agents: %w", err)
		}
		fmt.Fprintf(dockerCli.Err(), "Credential: %s\n", d.eff.Describe())
	}
	return nil
}

// readInput reads a secret from a file, or from stdin for "-": from a terminal with
// a prompt and no echo, else whatever is piped in.
func readInput(dockerCli command.Cli, file string) (string, error) {
	if file != "-" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("reading the credential: %w", err)
		}
		return string(b), nil
	}
	in := dockerCli.In()
	if in.IsTerminal() {
		fmt.Fprint(dockerCli.Err(), "Paste the credential (it is not shown): ")
		b, err := term.ReadPassword(int(in.FD()))
		fmt.Fprintln(dockerCli.Err())
		if err != nil {
			return "", fmt.Errorf("reading the credential: %w", err)
		}
		return string(b), nil
	}
	b, err := io.ReadAll(io.LimitReader(in, 64<<10))
	if err != nil {
		return "", fmt.Errorf("reading the credential from stdin: %w", err)
	}
	if strings.TrimSpace(string(b)) == "" {
		return "", errors.New("no credential on stdin")
	}
	return string(b), nil
}
