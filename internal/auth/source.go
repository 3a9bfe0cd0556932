package auth

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Source names where the credential in effect comes from, highest precedence first.
const (
	SourceFlag      = "flag"
	SourceStored    = "stored"
	SourceEnv       = "environment"
	SourceHostLogin = "host login"
	// SourceAgents: no source has one now, but the agents keep what an earlier up gave them.
	SourceAgents = "earlier up"
)

// Effective is the credential a fleet's agents get, and where it came from.
type Effective struct {
	Source     string
	Credential *Credential // nil for a host login
	StoreName  string      // for SourceStored
	LoginDir   string      // for SourceHostLogin: the host's Claude config dir, mounted read-only at /auth
}

// Describe names the source and kind, never the value.
func (e Effective) Describe() string {
	switch e.Source {
	case SourceHostLogin:
		return "the host's Claude login in " + e.LoginDir + " (an OAuth login with a single-use refresh token)"
	case SourceStored:
		return e.Credential.String() + " stored in the " + e.StoreName
	case SourceAgents:
		return e.Credential.String() + ", as given to the agents by an earlier 'up'"
	case "":
		return "none"
	}
	return e.Credential.String() + " from the " + e.Source
}

// ErrNoCredential means no source has one: agents would ask the user to /login.
var ErrNoCredential = errors.New("no credential: run 'docker magents auth setup' (a token from 'claude setup-token', or --api-key), " +
	"or give ANTHROPIC_API_KEY, CLAUDE_CODE_OAUTH_TOKEN or ANTHROPIC_AUTH_TOKEN in the environment")

// Resolve picks the credential by precedence: an explicit flag, the stored credential,
// the environment, then the host's own Claude login — which only one agent may use: its
// refresh token is single-use, so agents sharing it would log each other (and the host) out.
func Resolve(flag *Credential, store Store, getenv func(string) string, agents int) (Effective, error) {
	if flag != nil {
		return Effective{Source: SourceFlag, Credential: flag}, nil
	}
	if store != nil {
		c, err := store.Get()
		if err != nil {
			return Effective{}, err
		}
		if c != nil {
			return Effective{Source: SourceStored, Credential: c, StoreName: store.Name()}, nil
		}
	}
	c, err := FromEnv(getenv)
	if err != nil {
		return Effective{}, err
	}
	if c != nil {
		return Effective{Source: SourceEnv, Credential: c}, nil
	}
	if dir := HostLoginDir(getenv); dir != "" {
		if agents > 1 {
			return Effective{}, fmt.Errorf("the only credential found is the host's Claude login (%s), an OAuth login whose single-use "+
				"refresh token cannot be shared by %d agents (they would log each other out). Run 'docker magents auth setup' "+
				"to make a token that can be shared (claude setup-token), or give an API key", filepath.Join(dir, ".credentials.json"), agents)
		}
		return Effective{Source: SourceHostLogin, LoginDir: dir}, nil
	}
	return Effective{}, ErrNoCredential
}

// HostLoginDir is the host user's Claude config dir when it holds an OAuth login.
func HostLoginDir(getenv func(string) string) string {
	dir := getenv("CLAUDE_CONFIG_DIR")
	if dir == "" {
		home := getenv("HOME")
		if home == "" {
			return ""
		}
		dir = filepath.Join(home, ".claude")
	}
	if _, err := os.Stat(filepath.Join(dir, ".credentials.json")); err != nil {
		return ""
	}
	return dir
}

// HostLoginWarning is printed when one agent shares the host's login.
const HostLoginWarning = "warning: the agent uses your own Claude login, read-only from the host. The host and the agent " +
	"now share a single-use refresh token: whichever refreshes first logs the other out. " +
	"'docker magents auth setup' (claude setup-token) makes a token that is safe to share."
