// Package credential is how a supervisor finds the Claude credential it hands on: the
// agent's to Claude's process (never to anything else the agent runs), the model
// gateway's to the Messages API in the agent's place. Errors name the variable or file,
// never a value.
package credential

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/docker-magents/docker-magents/images/supervisor/agentenv"
	"github.com/docker-magents/docker-magents/images/supervisor/envvar"
)

// Credential variables Claude Code reads, highest precedence first (as Claude Code itself
// ranks them). Each may also be given as a file: NAME_FILE=/run/secrets/…, which is read
// on every agent start so a rotated secret is picked up by the next start.
var credentialVars = []struct {
	name   string
	method string
}{
	{"ANTHROPIC_AUTH_TOKEN", "auth-token"},
	{"ANTHROPIC_API_KEY", "api-key"},
	{"CLAUDE_CODE_OAUTH_TOKEN", "oauth-token"},
}

// legacyTokenVar is the guide's variable; its value is mapped by prefix.
const legacyTokenVar = "CLAUDE_AUTH_TOKEN"

// Credentials is what the agent process gets: values for Claude's own variables.
type Credentials struct {
	Env    map[string]string
	Method string // names the source, never the value
}

// First is the variable Claude Code will take its credential from, by its precedence,
// and its value; "" when there is none.
func (c Credentials) First() (name, value string) {
	for _, v := range credentialVars {
		if val := c.Env[v.name]; val != "" {
			return v.name, val
		}
	}
	return "", ""
}

// TokenWait is how long an agent waits for its gateway token: the egress proxy, starting
// alongside, writes it before it listens for the agent.
var TokenWait = 20 * time.Second

// Resolve reads credentials from the environment and from *_FILE secrets.
func Resolve(getenv func(string) string) (Credentials, error) {
	c := Credentials{Env: map[string]string{}}
	if path := getenv(agentenv.GatewayTokenFile); path != "" {
		// Behind the fleet's model gateway: the agent's own token, never the credential.
		tok, err := ReadGatewayToken(path, TokenWait)
		if err != nil {
			return c, err
		}
		c.Env["ANTHROPIC_AUTH_TOKEN"], c.Method = tok, "gateway"
		return c, nil
	}
	for _, v := range credentialVars {
		val, err := lookupSecret(getenv, v.name)
		if err != nil {
			return c, err
		}
		if val != "" {
			c.Env[v.name] = val
		}
	}
	legacy, err := lookupSecret(getenv, legacyTokenVar)
	if err != nil {
		return c, err
	}
	if legacy != "" {
		name, err := mapLegacyToken(legacy)
		if err != nil {
			return c, err
		}
		if _, set := c.Env[name]; !set {
			c.Env[name] = legacy
		}
	}
	c.Method = authMethod(getenv, c.Env)
	return c, nil
}

// ReadGatewayToken reads the agent's gateway token, which the egress proxy writes before
// it listens for the agent: waiting up to wait while the proxy starts alongside.
func ReadGatewayToken(path string, wait time.Duration) (string, error) {
	deadline := time.Now().Add(wait)
	for {
		b, err := os.ReadFile(path)
		if err == nil && len(strings.TrimSpace(string(b))) > 0 {
			return strings.TrimSpace(string(b)), nil
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = errors.New("it is empty")
			}
			return "", fmt.Errorf("the model gateway's token for this agent (%s) is not there: is the fleet's egress proxy running? (docker magents ps; docker magents up): %v", path, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// mapLegacyToken maps the guide's CLAUDE_AUTH_TOKEN to the variable Claude Code reads.
func mapLegacyToken(tok string) (string, error) {
	switch {
	case strings.HasPrefix(tok, "sk-ant-oat"):
		return "CLAUDE_CODE_OAUTH_TOKEN", nil
	case strings.HasPrefix(tok, "sk-ant-api"):
		return "ANTHROPIC_API_KEY", nil
	}
	return "", fmt.Errorf("%s does not look like a Claude token (expected a value starting with sk-ant-oat… from `claude setup-token` or sk-ant-api… from the Console); set CLAUDE_CODE_OAUTH_TOKEN or ANTHROPIC_API_KEY instead", legacyTokenVar)
}

// lookupSecret returns NAME from the environment, or the trimmed content of the file
// that NAME_FILE names.
func lookupSecret(getenv func(string) string, name string) (string, error) {
	if v := strings.TrimSpace(getenv(name)); v != "" {
		return v, nil
	}
	path := getenv(name + "_FILE")
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		if os.IsNotExist(err) {
			return "", fmt.Errorf("%s_FILE names %s, which does not exist: mount the secret there or unset %s_FILE", name, path, name)
		}
		if os.IsPermission(err) {
			return "", fmt.Errorf("%s_FILE names %s, which user %d cannot read: make the file readable by the agent's user", name, path, os.Getuid())
		}
		return "", fmt.Errorf("reading %s_FILE: %w", name, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// authMethod names what Claude Code will use, by its own precedence.
func authMethod(getenv func(string) string, creds map[string]string) string {
	switch {
	case envvar.IsTrue(getenv("CLAUDE_CODE_USE_BEDROCK")):
		return "bedrock"
	case envvar.IsTrue(getenv("CLAUDE_CODE_USE_VERTEX")):
		return "vertex"
	}
	for _, v := range credentialVars {
		if creds[v.name] != "" {
			return v.method
		}
	}
	return ""
}

// Environ is the environment the agent process runs with: environ (the supervisor's
// own), minus every credential variable and secret path, plus the resolved credentials.
func Environ(environ []string, c Credentials) []string {
	drop := map[string]bool{legacyTokenVar: true, legacyTokenVar + "_FILE": true}
	for _, v := range credentialVars {
		drop[v.name] = true
		drop[v.name+"_FILE"] = true
	}
	out := make([]string, 0, len(environ)+len(c.Env))
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if !drop[k] {
			out = append(out, kv)
		}
	}
	for k, v := range c.Env {
		out = append(out, k+"="+v)
	}
	return out
}
