// Package agentspec is what an agent is given, derived once from the fleet model, for
// every renderer — compose, the Swarm stack, Kubernetes, ECS and Cloud Run — to translate:
// none of them decides what an agent gets. Variable names come from
// images/supervisor/agentenv, which the supervisor reads. It may import fleet and the
// supervisor's contract packages; the renderers import it.
package agentspec

import (
	"maps"
	"strconv"
	"strings"

	"github.com/docker-magents/docker-magents/images/supervisor/agentenv"
	"github.com/docker-magents/docker-magents/internal/fleet"
)

// Shared is the environment every agent of the fleet gets alike: auth check, headless
// mode, permission mode, agent command, shared config and git identity (in git's
// command-line scope, fleet.GitConfigEnv).
func Shared(f *fleet.Fleet) map[string]string {
	env := map[string]string{}
	// The project's own first (its devcontainer's containerEnv), never a name the fleet
	// sets itself.
	for k, v := range f.ProjectEnv {
		if !Reserved(k) {
			env[k] = v
		}
	}
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
	if f.ProjectCommands != "" {
		env[agentenv.ProjectCommands] = f.ProjectCommands
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
	"swarm": {
		"security.no-new-privileges": "Swarm services take no security options: the agent still runs as a non-root user with no capabilities",
	},
	"kubernetes": {
		"limits.pids": "Kubernetes limits processes per node (the kubelet's podPidsLimit), not per pod: set it on the nodes",
	},
	"ecs": {
		agentenv.SharedConfig:        "ECS has no config objects: deploy the image 'docker magents build --with-config' makes, which carries the shared config and sets " + agentenv.SharedConfig,
		"limits.pids":                "ECS task definitions have no process limit on Fargate",
		"security.no-new-privileges": "Fargate takes no docker security options: the agent still runs as a non-root user with no capabilities",
	},
	"cloudrun": {
		agentenv.SharedConfig:        "Cloud Run has no config objects: deploy the image 'docker magents build --with-config' makes, which carries the shared config and sets " + agentenv.SharedConfig,
		"limits.pids":                "Cloud Run has no process limit",
		"security.cap-drop":          "Cloud Run's sandbox (gen2) sets the capabilities; the agent runs as the image's non-root user",
		"security.no-new-privileges": "Cloud Run takes no security options; the agent runs as the image's non-root user",
		"security.read-only-rootfs":  "Cloud Run's root filesystem is the instance's memory, gone with it",
		"mount.config":               "Cloud Run has no volume that outlives an instance: Claude's config (and login) start anew with each one",
		"mount.workspace":            "Cloud Run has no volume that outlives an instance: the agent clones or receives its work anew, and pushes what it keeps",
	},
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

// Items is everything agent n is given, by name: its environment (Env) and, named
// limits.*, security.* and mount.*, its limits, confinement and volumes, as strings — the
// list the contract test holds every target to and deploy names exceptions from. Remote
// platforms need a CPU limit and run agents as the image's user (SecurityOf).
func Items(f *fleet.Fleet, n int, remote bool) (map[string]string, error) {
	items := Env(f, n)
	l, err := LimitsOf(f)
	if err != nil {
		return nil, err
	}
	items["limits.memory"] = strconv.FormatInt(l.MemoryBytes, 10)
	switch {
	case remote:
		items["limits.cpus"] = strconv.FormatFloat(l.CPUsOrDefault(), 'f', -1, 64)
	case l.CPUs > 0:
		items["limits.cpus"] = strconv.FormatFloat(l.CPUs, 'f', -1, 64)
	}
	if l.Pids > 0 {
		items["limits.pids"] = strconv.FormatInt(l.Pids, 10)
	}
	s, err := SecurityOf(f, remote)
	if err != nil {
		return nil, err
	}
	items["security.user"] = strconv.Itoa(s.UID) + ":" + strconv.Itoa(s.GID)
	if s.DropAllCaps {
		items["security.cap-drop"] = "ALL"
	}
	if s.NoNewPrivileges {
		items["security.no-new-privileges"] = "true"
	}
	if s.ReadOnlyRootfs {
		items["security.read-only-rootfs"] = "true"
	}
	for _, m := range Mounts {
		items["mount."+m.Name] = m.Path
	}
	return items, nil
}

// Reserved reports whether name is one the fleet sets in an agent itself, or one that
// reaches its credentials, proxy, supervisor, session or trust store: a project's
// environment (its devcontainer's containerEnv) never sets it.
func Reserved(name string) bool {
	up := strings.ToUpper(name)
	for _, prefix := range []string{"MAGENTS_", "ANTHROPIC_", "CLAUDE_", "GIT_CONFIG", "TMUX", "TINI_"} {
		if strings.HasPrefix(up, prefix) {
			return true
		}
	}
	switch up {
	case "HOME", "USER", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR",
		"NODE_EXTRA_CA_CERTS", "DISABLE_AUTOUPDATER", "GIT_ASKPASS", "SSH_AUTH_SOCK":
		return true
	}
	return false
}
