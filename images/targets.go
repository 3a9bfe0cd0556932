package images

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// ClaudeVersionLabel is the image label that holds the Claude Code version it installs.
const ClaudeVersionLabel = "io.docker-magents.claude-code.version"

// Repository is the image name every target is tagged under.
const Repository = "magents/claude-agent"

// Default build arguments. docker-bake.hcl declares the same (a test compares them
// through `docker buildx bake --print`).
var defaultArgs = map[string]string{
	"BASE_IMAGE":          "debian:bookworm-slim",
	"GO_IMAGE":            "golang:1.26-bookworm",
	"FETCH_IMAGE":         "debian:bookworm-slim",
	"CLAUDE_CODE_VERSION": "2.1.332",
	"MAGENTS_UID":         "1000",
	"MAGENTS_GID":         "1000",
}

// BaseImageArgs are the build arguments that name the Dockerfile's base images.
var BaseImageArgs = []string{"BASE_IMAGE", "GO_IMAGE", "FETCH_IMAGE"}

// TargetNames are the image's targets, in the order of docker-bake.hcl's default group.
var TargetNames = []string{"latest", "dev", "cloudrun"}

// CACertSecret is the BuildKit secret id the Dockerfile reads an extra CA bundle from.
const CACertSecret = "ca-cert"

// Target is one image to build, in the JSON shape of `docker buildx bake --print`.
type Target struct {
	Name       string             `json:"-"`
	Context    string             `json:"context"`
	Dockerfile string             `json:"dockerfile"`
	Args       map[string]*string `json:"args,omitempty"`
	Tags       []string           `json:"tags,omitempty"`
	Target     string             `json:"target"`
	Secrets    []Secret           `json:"secret,omitempty"`
	Platforms  []string           `json:"platforms,omitempty"`
	Pull       *bool              `json:"pull,omitempty"`
	NoCache    *bool              `json:"no-cache,omitempty"`
}

// Secret is a BuildKit secret taken from a file, as bake prints it.
type Secret struct {
	ID       string `json:"id"`
	FilePath string `json:"src"`
}

// Definition is the `docker buildx bake --print` document.
type Definition struct {
	Group  map[string]Group   `json:"group,omitempty"`
	Target map[string]*Target `json:"target"`
}

type Group struct {
	Targets []string `json:"targets"`
}

// NewTarget returns the default definition of a target.
func NewTarget(name string) (*Target, error) {
	if !slices.Contains(TargetNames, name) {
		return nil, fmt.Errorf("unknown target %q: choose one of %s", name, strings.Join(TargetNames, ", "))
	}
	args := make(map[string]*string, len(defaultArgs))
	for k, v := range defaultArgs {
		args[k] = &v
	}
	return &Target{
		Name:       name,
		Context:    ContextName,
		Dockerfile: Dockerfile,
		Args:       args,
		Tags:       []string{Repository + ":" + name},
		Target:     name,
	}, nil
}

// ArgValues returns the target's build arguments as plain strings.
func (t *Target) ArgValues() map[string]string {
	out := make(map[string]string, len(t.Args))
	for k, v := range t.Args {
		if v != nil {
			out[k] = *v
		}
	}
	return out
}

// NewDefinition groups targets the way bake prints them: all of them under "default".
func NewDefinition(targets []*Target) Definition {
	d := Definition{Group: map[string]Group{}, Target: map[string]*Target{}}
	var names []string
	for _, t := range targets {
		d.Target[t.Name] = t
		names = append(names, t.Name)
	}
	// bake lists a group's targets sorted.
	slices.Sort(names)
	d.Group["default"] = Group{Targets: names}
	return d
}

// BaseImages are the images the target's stages start FROM.
func (t *Target) BaseImages() []string {
	var refs []string
	for _, k := range BaseImageArgs {
		if v := t.Args[k]; v != nil && *v != "" && !slices.Contains(refs, *v) {
			refs = append(refs, *v)
		}
	}
	return refs
}

// DefaultArgs returns a copy of the default build arguments.
func DefaultArgs() map[string]string { return maps.Clone(defaultArgs) }
