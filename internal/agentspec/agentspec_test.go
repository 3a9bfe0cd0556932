package agentspec

import (
	"testing"

	"github.com/docker-magents/docker-magents/images/supervisor/agentenv"
	"github.com/docker-magents/docker-magents/internal/fleet"
)

// A project's environment reaches every agent, but never a name the fleet sets itself or
// one that reaches an agent's credentials, proxy or supervisor.
func TestProjectEnvIsUnderTheFleets(t *testing.T) {
	f := &fleet.Fleet{AuthCheck: true, ProjectEnv: map[string]string{
		"GOFLAGS": "-count=1", "ANTHROPIC_BASE_URL": "https://elsewhere.example", agentenv.AuthCheck: "0",
		"https_proxy": "http://elsewhere.example", "Claude_Config_Dir": "/tmp", "HOME": "/tmp",
	}}
	env := Env(f, 1)
	if env["GOFLAGS"] != "-count=1" {
		t.Errorf("the project's own name: %q", env["GOFLAGS"])
	}
	if env[agentenv.AuthCheck] != "1" {
		t.Errorf("the fleet's setting was overridden: %q", env[agentenv.AuthCheck])
	}
	for _, name := range []string{"ANTHROPIC_BASE_URL", "https_proxy", "Claude_Config_Dir", "HOME"} {
		if _, ok := env[name]; ok {
			t.Errorf("%s reached the agent from the project", name)
		}
	}
	for name, reserved := range map[string]bool{"PATH": false, "GOPATH": false, "LANG": false, "MAGENTS_X": true, "tmux_tmpdir": true, "SSH_AUTH_SOCK": true} {
		if Reserved(name) != reserved {
			t.Errorf("Reserved(%s) = %v", name, !reserved)
		}
	}
}
