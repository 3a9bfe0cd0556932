package agentimage

import (
	"fmt"
	"slices"
	"strings"
)

// Use is what docker-magents does with a devcontainer.json property.
type Use string

const (
	Applied  Use = "applied"
	Ignored  Use = "ignored"
	NeverRun Use = "never run"
	NotYet   Use = "not yet"
)

// Treatment is what becomes of one property, in one line: the README's table says the
// same (a test holds them together).
type Treatment struct {
	Property string
	Use      Use
	What     string
}

// Treatments are the spec's properties, each with what docker-magents does with it. An
// agent is untrusted code and the file is the repository's: what would widen what an
// agent can do is ignored, with its line at every up.
var Treatments = []Treatment{
	{"name", Ignored, "a label for editors"},
	{"image", Applied, "the base of the agents' image"},
	{"build", Applied, "dockerfile, context, args and target build the base first; options and cacheFrom are ignored"},
	{"dockerFile", Applied, "the older form of build.dockerfile"},
	{"context", Applied, "the older form of build.context"},
	{"dockerComposeFile", NotYet, "a devcontainer of compose files is refused, with what to do"},
	{"service", NotYet, "with dockerComposeFile"},
	{"runServices", NotYet, "with dockerComposeFile"},
	{"workspaceFolder", Ignored, "agents work in /workspace"},
	{"workspaceMount", Ignored, "the workspace is mounted or cloned as the fleet's isolation says"},
	{"appPort", Ignored, "agents publish no port"},
	{"forwardPorts", NotYet, "agents publish no port"},
	{"portsAttributes", Ignored, "an editor's"},
	{"otherPortsAttributes", Ignored, "an editor's"},
	{"runArgs", Ignored, "an agent's container is the fleet's own: its user, capabilities, networks and mounts"},
	{"shutdownAction", Ignored, "agents stop with docker magents down"},
	{"overrideCommand", Ignored, "the supervisor is always the agent's command"},
	{"features", NotYet, "not installed"},
	{"overrideFeatureInstallOrder", NotYet, "with features"},
	{"containerEnv", Applied, "every agent's environment, but for the names the fleet sets itself (each ignored with its line)"},
	{"remoteEnv", NotYet, "not set in the agents"},
	{"containerUser", Ignored, "agents run as the workspace owner's UID (--user)"},
	{"remoteUser", Ignored, "agents run as the workspace owner's UID (--user)"},
	{"updateRemoteUserUID", Ignored, "agents run as the workspace owner's UID (--user)"},
	{"userEnvProbe", Ignored, "the agent's session has the image's environment"},
	{"mounts", Ignored, "an agent mounts what the fleet gives it alone"},
	{"init", Ignored, "tini is every agent's init"},
	{"privileged", Ignored, "an agent is never privileged"},
	{"capAdd", Ignored, "an agent has no capability beyond the fleet's"},
	{"securityOpt", Ignored, "an agent's seccomp and no-new-privileges are the fleet's"},
	{"initializeCommand", NeverRun, "it would run on your host"},
	{"onCreateCommand", Applied, "once per container: run in each agent before its agent starts, as the agent, in its workspace, behind its egress rules; a failure is in health, ps and doctor"},
	{"updateContentCommand", Applied, "once per container: run in each agent before its agent starts, as the agent, in its workspace, behind its egress rules; a failure is in health, ps and doctor"},
	{"postCreateCommand", Applied, "once per container: run in each agent before its agent starts, as the agent, in its workspace, behind its egress rules; a failure is in health, ps and doctor"},
	{"postStartCommand", Applied, "at every start: run in each agent before its agent starts, as the agent, in its workspace, behind its egress rules; a failure is in health, ps and doctor"},
	{"postAttachCommand", Ignored, "nothing attaches as an editor does"},
	{"waitFor", Ignored, "the agent starts once every due lifecycle command has run"},
	{"hostRequirements", NotYet, "the agents' limits are up's --memory and --cpus"},
	{"customizations", Ignored, "an editor's"},
	{"secrets", Ignored, "agents get no secret but the fleet's own"},
	{"$schema", Ignored, "for editors"},
}

// Notes are the lines up says of the plan's devcontainer: each property it sets that is
// not applied, and each it does not know.
func (p *Plan) Notes() []string {
	var out []string
	for _, prop := range p.Config.Present {
		i := slices.IndexFunc(Treatments, func(t Treatment) bool { return t.Property == prop })
		if i < 0 {
			continue
		}
		t := Treatments[i]
		switch {
		case t.Use == Applied, t.Use == Ignored && (prop == "name" || prop == "customizations" || prop == "$schema" || strings.HasSuffix(prop, "ortsAttributes")):
			continue // nothing an agent misses
		}
		out = append(out, fmt.Sprintf("devcontainer: %s %s (%s)", prop, t.Use, t.What))
	}
	if len(p.Config.Unknown) > 0 {
		out = append(out, fmt.Sprintf("devcontainer: %s: not a property of the spec, ignored", strings.Join(p.Config.Unknown, ", ")))
	}
	return out
}
