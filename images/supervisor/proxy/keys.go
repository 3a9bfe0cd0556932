package proxy

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/docker-magents/docker-magents/images/supervisor/agentenv"
	"github.com/docker-magents/docker-magents/images/supervisor/agenttoken"
	"github.com/docker-magents/docker-magents/images/supervisor/atomicfile"
)

// agentTokenFile is the agent's token, in its socket directory.
const agentTokenFile = "agent-token"

// writeAgentToken gives agent its token, in its socket directory, before the proxy
// listens there: an agent whose socket answers has its token. Written anew each time (the
// agent owns the directory: what it put there is replaced, never followed).
func writeAgentToken(key []byte, dir, agent string) error {
	return atomicfile.Write(filepath.Join(dir, agentTokenFile), []byte(agenttoken.Of(key, agent)+"\n"), 0o600)
}

// readAgentKey reads the fleet's key (MAGENTS_AGENT_KEY_FILE), which signs the agents'
// tokens; nil when the fleet has none.
func readAgentKey(getenv func(string) string) ([]byte, error) {
	path := getenv(agentenv.AgentKeyFile)
	if path == "" {
		return nil, nil
	}
	key, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the fleet's key: %w", err)
	}
	if key = bytes.TrimSpace(key); len(key) < 16 {
		return nil, errors.New("the fleet's key file holds less than 16 bytes")
	}
	return key, nil
}
