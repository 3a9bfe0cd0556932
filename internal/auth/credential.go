// Package auth decides which credential a fleet's agents share, keeps it in the user's
// Docker credential store (or a private file), and never lets its value out: no compose
// file, env file, log line or error message holds it.
package auth

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
)

// Credential is a value for one of the variables Claude Code reads.
type Credential struct {
	Var   string // ANTHROPIC_API_KEY, CLAUDE_CODE_OAUTH_TOKEN or ANTHROPIC_AUTH_TOKEN
	Value string
}

// Vars are the variables a shareable credential can be given in, highest precedence first
// (as Claude Code ranks them). CLAUDE_AUTH_TOKEN, the guide's, is mapped by its prefix.
var Vars = []string{"ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_API_KEY", "CLAUDE_CODE_OAUTH_TOKEN"}

const legacyVar = "CLAUDE_AUTH_TOKEN"

// Kind names the credential without its value: api-key, oauth-token or auth-token.
func (c Credential) Kind() string {
	switch c.Var {
	case "ANTHROPIC_API_KEY":
		return "api-key"
	case "CLAUDE_CODE_OAUTH_TOKEN":
		return "oauth-token"
	case "ANTHROPIC_AUTH_TOKEN":
		return "auth-token"
	}
	return "unknown"
}

// String never shows the value.
func (c Credential) String() string { return c.Kind() + " (" + c.Var + ")" }

// GoString keeps %#v from printing the value too.
func (c Credential) GoString() string { return "auth.Credential{" + c.String() + "}" }

// New checks a credential as given (one trailing newline, as from a file or `echo`, is
// dropped). Errors never include the value.
func New(varName, value string) (Credential, error) {
	value = strings.TrimSuffix(strings.TrimSuffix(value, "\n"), "\r")
	if varName == legacyVar {
		mapped, err := mapLegacy(value)
		if err != nil {
			return Credential{}, err
		}
		varName = mapped
	}
	if !isVar(varName) {
		return Credential{}, fmt.Errorf("%s is not a credential variable: use one of %s", varName, strings.Join(Vars, ", "))
	}
	switch {
	case value == "":
		return Credential{}, fmt.Errorf("the %s given is empty", varName)
	case strings.ContainsAny(value, "\r\n"):
		return Credential{}, fmt.Errorf("the %s given spans several lines: give the token alone, on one line", varName)
	case strings.IndexFunc(value, unicode.IsSpace) >= 0:
		return Credential{}, fmt.Errorf("the %s given contains spaces: give the token alone, without quotes or spaces", varName)
	}
	return Credential{Var: varName, Value: value}, nil
}

func isVar(name string) bool {
	for _, v := range Vars {
		if v == name {
			return true
		}
	}
	return false
}

// mapLegacy maps the guide's CLAUDE_AUTH_TOKEN by its prefix, as the supervisor does.
func mapLegacy(value string) (string, error) {
	switch {
	case strings.HasPrefix(value, "sk-ant-oat"):
		return "CLAUDE_CODE_OAUTH_TOKEN", nil
	case strings.HasPrefix(value, "sk-ant-api"):
		return "ANTHROPIC_API_KEY", nil
	}
	return "", errors.New("CLAUDE_AUTH_TOKEN does not look like a Claude token (sk-ant-oat… from 'claude setup-token' or sk-ant-api… from the Console): give it as CLAUDE_CODE_OAUTH_TOKEN or ANTHROPIC_API_KEY")
}

// FromEnv is the credential in the environment, by Claude Code's precedence, or nil.
func FromEnv(getenv func(string) string) (*Credential, error) {
	for _, v := range append(append([]string{}, Vars...), legacyVar) {
		if val := getenv(v); strings.TrimSpace(val) != "" {
			c, err := New(v, val)
			if err != nil {
				return nil, fmt.Errorf("environment: %w", err)
			}
			return &c, nil
		}
	}
	return nil, nil
}
