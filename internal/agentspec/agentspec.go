// Package agentspec is what an agent is given, derived once from the fleet model, for
// every renderer — compose, the Swarm stack, Kubernetes, ECS and Cloud Run — to translate:
// none of them decides what an agent gets. Variable names come from
// images/supervisor/agentenv, which the supervisor reads. It may import fleet and the
// supervisor's contract packages; the renderers import it.
package agentspec

import (
	"maps"
	"strconv"

	"github.com/docker-magents/docker-magents/images/supervisor/agentenv"
	"github.com/docker-magents/docker-magents/internal/fleet"
)

// Shared is the environment every agent of the fleet gets alike: auth check, headless
// mode, permission mode, agent command, shared config and git identity (in git's
// command-line scope, fleet.GitConfigEnv).
func Shared(f *fleet.Fleet) map[string]string {
	env := map[string]string{}
	if f.AuthCheck {
		env[agentenv.AuthCheck] = "1"
	}
	if f.Headless {
		env[agentenv.Headless] = "true"
	}
	if f.PermissionMode != "" {
		env[agentenv.PermissionMode] = f.PermissionMode
	}
	if f.AgentCmd != "" {
		env[agentenv.AgentCmd] = f.AgentCmd
	}
	if len(f.ConfigSet) > 0 {
		env[agentenv.SharedConfig] = "1"
	}
	maps.Copy(env, f.GitConfigEnv())
	return env
}

// Env is agent n's environment: Shared, its number and its task.
func Env(f *fleet.Fleet, n int) map[string]string {
	env := Shared(f)
	env[agentenv.AgentID] = strconv.Itoa(n)
	if task := f.TaskFor(n); task != "" {
		env[agentenv.Task] = task
	}
	return env
}

// Health is how a platform asks an agent how it is: the command the engine's
// HEALTHCHECK runs, and the HTTP endpoints the supervisor serves on PORT (Cloud Run) or
// MAGENTS_HEALTH_ADDR — liveness and startup on Live, readiness on Ready.
var Health = struct {
	Command     []string
	Live, Ready string
}{
	Command: []string{"/usr/local/bin/magents-supervisor", "health"},
	Live:    "/healthz",
	Ready:   "/readyz",
}

// Targets are the renderers that translate the spec.
var Targets = []string{"compose", "swarm", "kubernetes", "ecs", "cloudrun"}

// Exceptions are, per target, the items of the spec it has no equivalent for and why:
// the one list of them, which docker magents deploy prints and the contract test checks.
var Exceptions = map[string]map[string]string{
	"ecs":      {agentenv.SharedConfig: "ECS has no config objects: deploy the image 'docker magents build --with-config' makes, which carries the shared config and sets " + agentenv.SharedConfig},
	"cloudrun": {agentenv.SharedConfig: "Cloud Run has no config objects: deploy the image 'docker magents build --with-config' makes, which carries the shared config and sets " + agentenv.SharedConfig},
}
