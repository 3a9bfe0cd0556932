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

// Limits are an agent's resources.
type Limits struct {
	MemoryBytes int64
	CPUs        float64 // 0: no limit
	Pids        int64   // -1: no limit
}

// LimitsOf is the fleet's per-agent limits.
func LimitsOf(f *fleet.Fleet) (Limits, error) {
	mem, err := fleet.ParseBytes(f.Memory)
	if err != nil {
		return Limits{}, err
	}
	return Limits{MemoryBytes: mem, CPUs: f.CPUs, Pids: f.PidsLimit()}, nil
}

// DeployCPUs are the CPUs an agent gets where a platform needs a number and the fleet
// gives none (Kubernetes, ECS, Cloud Run).
const DeployCPUs = 2

// CPUsOrDefault is l's CPU limit, or DeployCPUs.
func (l Limits) CPUsOrDefault() float64 {
	if l.CPUs > 0 {
		return l.CPUs
	}
	return DeployCPUs
}

// Security is how an agent is confined: as a non-root user, with no capabilities and no
// privilege gained through setuid binaries, and — when the fleet asks or the platform
// keeps nothing on the root anyway — a read-only root with Writable as scratch space.
type Security struct {
	UID, GID        int
	DropAllCaps     bool
	NoNewPrivileges bool
	ReadOnlyRootfs  bool
	Writable        []string
}

// SecurityOf is the confinement of the fleet's agents. Remote platforms run them as the
// image's user (their workspace is a volume of their own, not a host directory).
func SecurityOf(f *fleet.Fleet, remote bool) (Security, error) {
	user := f.User
	if remote || user == "" {
		user = fleet.DefaultUser
	}
	uid, gid, err := fleet.ParseUser(user)
	if err != nil {
		return Security{}, err
	}
	s := Security{UID: uid, GID: gid, DropAllCaps: true, NoNewPrivileges: true, ReadOnlyRootfs: f.ReadOnlyRootfs}
	if s.ReadOnlyRootfs {
		s.Writable = Scratch
	}
	return s, nil
}

// Scratch are the directories an agent writes that need not outlive it: with a read-only
// root they are tmpfs or a platform's scratch volumes.
var Scratch = []string{"/tmp", "/run/magents", "/home/magents"}

// Mount is one of an agent's volumes that outlive its container.
type Mount struct {
	Name string // config, workspace
	Path string
}

// Mounts are every agent's volumes: its Claude config dir (login, history, settings) and
// its workspace.
var Mounts = []Mount{{"config", fleet.ClaudeConfigDir}, {"workspace", fleet.WorkspaceDir}}
