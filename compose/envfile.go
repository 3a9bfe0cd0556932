package compose

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/compose-spec/compose-go/v2/dotenv"

	"github.com/docker-magents/docker-magents/internal/fleet"
)

const envFileHeader = `# Settings shared by every docker magents agent (KEY=VALUE, one per line).
# Not for credentials: values here show in 'docker inspect'. Give a credential in the
# environment of 'docker magents up' (ANTHROPIC_API_KEY, CLAUDE_CODE_OAUTH_TOKEN, …) instead;
# the agents then get it as a file.
# ANTHROPIC_BASE_URL=https://gateway.example.com
`

// ReadEnvFile reads the shared env file's settings (checked as PrepareEnvFile does), for
// targets that carry them inline; a missing file is no settings.
func ReadEnvFile(path string) (map[string]string, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return map[string]string{}, nil
	}
	if err := PrepareEnvFile(path); err != nil {
		return nil, err
	}
	return dotenv.Read(path)
}

// PrepareEnvFile creates the shared env file when it is missing (mode 0600) and checks an
// existing one: it must parse, and it must not hold credentials.
func PrepareEnvFile(path string) error {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if err := os.WriteFile(path, []byte(envFileHeader), 0o600); err != nil {
			return fmt.Errorf("creating the env file: %w", err)
		}
		return nil
	}
	vars, err := dotenv.Read(path)
	if err != nil {
		return fmt.Errorf("env file %s does not parse: %w", path, err)
	}
	var creds []string
	for k := range vars {
		if fleet.IsCredentialVar(k) {
			creds = append(creds, k)
		}
	}
	if len(creds) > 0 {
		slices.Sort(creds)
		return fmt.Errorf("env file %s holds %s: a credential there would show in 'docker inspect'. "+
			"Remove it from the file and give it in the environment of 'docker magents up' instead "+
			"(e.g. read -rs ANTHROPIC_API_KEY && export ANTHROPIC_API_KEY); the agents then get it as a file",
			path, strings.Join(creds, ", "))
	}
	return nil
}
