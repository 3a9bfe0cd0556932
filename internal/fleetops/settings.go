package fleetops

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/docker-magents/docker-magents/internal/devcontainer"
	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/fleetqueue"
	"github.com/docker-magents/docker-magents/internal/workspace"
)

// Settings are the fleet's settings a command was given: a nil field keeps the saved
// value, or a new project's default. Paths are as given (relative to the current
// directory); the fleet keeps them relative to its compose file.
type Settings struct {
	Agents *int
	Image  *string
	// Devcontainer is the project's devcontainer to build the agents' image from: a NAME
	// of .devcontainer/NAME/, a path, devcontainer.None, or "" to look (the default for a
	// new project, and after --image is dropped).
	Devcontainer       *string
	Memory             *string
	CPUs               *float64
	Pids               *int
	ReadOnlyRootfs     *bool
	Docker             *bool
	Egress             *string
	Allow              *[]string
	AllowModelEndpoint *bool
	IPv6               *bool
	Dev                *bool
	AuthCheck          *bool
	BudgetUSD          *float64
	FleetBudgetUSD     *float64
	GatewayAllow       *[]string
	Headless           *bool
	AgentCmd           *string
	PermissionMode     *string
	Base               *string
	Includes           *[]string
	// Tasks, one per agent in order; those beyond one per agent go to the work queue.
	Tasks     *[]string
	EnvFile   *string
	Workspace *string
	User      *string
	Isolation *string
	// The shared agent config: files from outside the repository, and the git identity
	// (a new project takes this host's git config's).
	ClaudeMD       *string
	ClaudeSettings *string
	MCP            *string
	Commands       *string
	GitCredentials *string
	GitUserName    *string
	GitUserEmail   *string
}

// set is *v's value into dst when v is given.
func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// Apply gives fleet f the settings, derives what follows from them (the agents' user,
// the isolation, the Docker group, the queue's share of the tasks), and validates the
// whole: a fleet Apply returns without error is one up can write. newProject is a fleet
// not yet saved.
func (s Settings) Apply(f *fleet.Fleet, newProject bool) error {
	set(&f.Agents, s.Agents)
	set(&f.Image, s.Image)
	set(&f.Memory, s.Memory)
	set(&f.CPUs, s.CPUs)
	set(&f.Pids, s.Pids)
	set(&f.ReadOnlyRootfs, s.ReadOnlyRootfs)
	set(&f.Docker, s.Docker)
	f.DockerGID = ""
	if f.Docker {
		f.DockerGID = workspace.GroupOf(fleet.DockerSocket)
	}
	set(&f.Egress, s.Egress)
	set(&f.Allow, s.Allow)
	if s.AllowModelEndpoint != nil {
		f.DenyModelEndpoint = !*s.AllowModelEndpoint
	}
	set(&f.IPv6, s.IPv6)
	set(&f.Dev, s.Dev)
	set(&f.AuthCheck, s.AuthCheck)
	set(&f.BudgetUSD, s.BudgetUSD)
	set(&f.FleetBudgetUSD, s.FleetBudgetUSD)
	if s.GatewayAllow != nil {
		f.GatewayAllow = slices.DeleteFunc(slices.Clone(*s.GatewayAllow), func(v string) bool { return v == "" })
	}
	set(&f.Headless, s.Headless)
	set(&f.AgentCmd, s.AgentCmd)
	set(&f.PermissionMode, s.PermissionMode)
	set(&f.Base, s.Base)
	set(&f.Includes, s.Includes)
	if s.Tasks != nil {
		f.Tasks, f.Queued = *s.Tasks, nil
		if len(f.Tasks) > f.Agents && fleetqueue.NoQueue(f) == nil {
			// One for each agent at its start; the fleet's work queue takes the rest.
			f.Tasks, f.Queued = f.Tasks[:f.Agents], f.Tasks[f.Agents:]
		}
	}
	if s.EnvFile != nil {
		f.EnvFile = f.Rel(*s.EnvFile)
	}
	if s.Workspace != nil {
		f.Workspace = f.Rel(*s.Workspace)
	}
	ws := f.Abs(f.Workspace)
	st, err := os.Stat(ws)
	if err != nil || !st.IsDir() {
		return fmt.Errorf("workspace %s does not exist or is not a directory: give an existing directory with --workspace", ws)
	}
	moved := newProject || s.Workspace != nil
	switch {
	case s.User != nil:
		f.User = *s.User
	case moved:
		f.User = workspace.Owner(st)
	}
	var want string
	if s.Isolation != nil {
		if want, err = fleet.ParseIsolation(*s.Isolation); err != nil {
			return err
		}
	}
	if err := workspace.SetIsolation(f, ws, want, moved); err != nil {
		return err
	}
	if err := s.applyDevcontainer(f, newProject); err != nil {
		return err
	}
	s.applyConfig(f, newProject)
	if err := f.Validate(); err != nil {
		return err
	}
	if err := f.LoadConfigSet(time.Now()); err != nil {
		return err
	}
	return workspace.CheckAgentsCanWrite(f, ws)
}

// applyDevcontainer finds the devcontainer the agents' image is built from: the one asked
// for, or for a new project the one the workspace has; an image given names the agents'
// image itself, and no devcontainer is used.
func (s Settings) applyDevcontainer(f *fleet.Fleet, newProject bool) error {
	which := ""
	switch {
	case s.Devcontainer != nil:
		which = *s.Devcontainer
	case s.Image != nil:
		which = devcontainer.None
	case !newProject && f.Devcontainer != "":
		return nil // as saved
	case !newProject:
		which = devcontainer.None // saved before devcontainers: as it was
	}
	if which != devcontainer.None && s.Image != nil {
		return errors.New("--image names the agents' image and --devcontainer builds it: give one")
	}
	path, err := devcontainer.Find(f.Abs(f.Workspace), which)
	if err != nil {
		return err
	}
	if path == "" {
		f.Devcontainer = devcontainer.None
		return nil
	}
	// The agents' image is then the devcontainer's (agentimage), tagged when up plans it.
	f.Devcontainer = f.Rel(path)
	return nil
}

// applyConfig sets the shared agent config's files and the git identity.
func (s Settings) applyConfig(f *fleet.Fleet, newProject bool) {
	for dst, v := range map[*string]*string{
		&f.Config.ClaudeMD: s.ClaudeMD, &f.Config.Settings: s.ClaudeSettings, &f.Config.MCP: s.MCP,
		&f.Config.Commands: s.Commands, &f.Config.GitCredentials: s.GitCredentials,
	} {
		if v != nil {
			*dst = f.Rel(*v)
		}
	}
	switch {
	case s.GitUserName != nil:
		f.Config.GitUserName = *s.GitUserName
	case newProject:
		f.Config.GitUserName = workspace.HostGitConfig("user.name")
	}
	switch {
	case s.GitUserEmail != nil:
		f.Config.GitUserEmail = *s.GitUserEmail
	case newProject:
		f.Config.GitUserEmail = workspace.HostGitConfig("user.email")
	}
}

// Given reports whether the setting named as up's flag is among s (what the user gave,
// as pflag's Changed): PrivilegeChanges asks it.
func (s Settings) Given(flag string) bool {
	given, ok := settingFlags(s)[flag]
	return ok && given
}

// settingFlags is which of s's settings are given, by the name of up's flag for each.
func settingFlags(s Settings) map[string]bool {
	return map[string]bool{
		"agents": s.Agents != nil, "image": s.Image != nil, "memory": s.Memory != nil, "cpus": s.CPUs != nil,
		"pids": s.Pids != nil, "read-only-rootfs": s.ReadOnlyRootfs != nil, "docker": s.Docker != nil,
		"egress": s.Egress != nil, "allow": s.Allow != nil, "allow-model-endpoint": s.AllowModelEndpoint != nil,
		"ipv6": s.IPv6 != nil, "dev": s.Dev != nil, "auth-check": s.AuthCheck != nil, "budget-usd": s.BudgetUSD != nil,
		"fleet-budget-usd": s.FleetBudgetUSD != nil, "devcontainer": s.Devcontainer != nil, "gateway-allow": s.GatewayAllow != nil, "headless": s.Headless != nil,
		"agent-cmd": s.AgentCmd != nil, "permission-mode": s.PermissionMode != nil, "base": s.Base != nil,
		"include": s.Includes != nil, "task": s.Tasks != nil, "tasks": s.Tasks != nil, "env-file": s.EnvFile != nil,
		"workspace": s.Workspace != nil, "user": s.User != nil, "isolation": s.Isolation != nil,
		"claude-md": s.ClaudeMD != nil, "settings": s.ClaudeSettings != nil, "mcp": s.MCP != nil,
		"commands": s.Commands != nil, "git-credentials": s.GitCredentials != nil,
		"git-user-name": s.GitUserName != nil, "git-user-email": s.GitUserEmail != nil,
	}
}
