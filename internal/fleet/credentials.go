package fleet

import "strings"

// CredentialVars are the environment variables that carry a credential for Claude Code.
// They never go into the env file or the compose file: agents get them as files.
var CredentialVars = []string{
	"ANTHROPIC_AUTH_TOKEN",
	"ANTHROPIC_API_KEY",
	"CLAUDE_CODE_OAUTH_TOKEN",
	"CLAUDE_AUTH_TOKEN", // the guide's name; the supervisor maps it by its prefix
}

// IsCredentialVar reports whether name carries a credential.
func IsCredentialVar(name string) bool {
	for _, v := range CredentialVars {
		if name == v {
			return true
		}
	}
	return false
}

// SecretFileName is the file in the secrets dir that holds a credential variable.
func SecretFileName(name string) string { return strings.ToLower(name) }
