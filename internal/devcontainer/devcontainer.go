// Package devcontainer reads a project's development container configuration
// (devcontainer.json, https://containers.dev/implementors/json_reference/): where it is,
// what it says in the spec's own forms, and the spec's variables substituted. It is
// checked against the reference implementation, the Dev Containers CLI (devcontainer
// read-configuration). What docker-magents does with each field is the agent image's and
// the fleet's to decide; this package only reads.
package devcontainer

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"

	"github.com/tailscale/hujson"
)

// Config is a devcontainer.json: every property the spec defines, in its forms. A
// property the file does not set is its zero value.
type Config struct {
	Name string `json:"name,omitempty"`

	// The base: an image, a Dockerfile build, or a service of compose files.
	Image             string      `json:"image,omitempty"`
	Build             *Build      `json:"build,omitempty"`
	DockerFile        string      `json:"dockerFile,omitempty"` // the older form of build.dockerfile
	Context           string      `json:"context,omitempty"`    // the older form of build.context
	DockerComposeFile StringList  `json:"dockerComposeFile,omitzero"`
	Service           string      `json:"service,omitempty"`
	RunServices       []string    `json:"runServices,omitempty"`
	WorkspaceFolder   string      `json:"workspaceFolder,omitempty"`
	WorkspaceMount    string      `json:"workspaceMount,omitempty"`
	AppPort           PortList    `json:"appPort,omitempty"`
	RunArgs           []string    `json:"runArgs,omitempty"`
	ShutdownAction    string      `json:"shutdownAction,omitempty"`
	OverrideCommand   *bool       `json:"overrideCommand,omitempty"`
	Features          Features    `json:"features,omitempty"`
	OverrideFeatures  []string    `json:"overrideFeatureInstallOrder,omitempty"`
	ForwardPorts      PortList    `json:"forwardPorts,omitempty"`
	PortsAttributes   RawMap      `json:"portsAttributes,omitempty"`
	OtherPorts        RawJSON     `json:"otherPortsAttributes,omitempty"`
	ContainerEnv      StringMap   `json:"containerEnv,omitempty"`
	RemoteEnv         NullableMap `json:"remoteEnv,omitempty"`
	ContainerUser     string      `json:"containerUser,omitempty"`
	RemoteUser        string      `json:"remoteUser,omitempty"`
	UpdateRemoteUID   *bool       `json:"updateRemoteUserUID,omitempty"`
	UserEnvProbe      string      `json:"userEnvProbe,omitempty"`
	Mounts            []Mount     `json:"mounts,omitempty"`
	Init              *bool       `json:"init,omitempty"`
	Privileged        *bool       `json:"privileged,omitempty"`
	CapAdd            []string    `json:"capAdd,omitempty"`
	SecurityOpt       []string    `json:"securityOpt,omitempty"`

	// The lifecycle: initializeCommand runs on the host (docker-magents never runs it);
	// the others in the container, in this order.
	InitializeCommand    *Command `json:"initializeCommand,omitempty"`
	OnCreateCommand      *Command `json:"onCreateCommand,omitempty"`
	UpdateContentCommand *Command `json:"updateContentCommand,omitempty"`
	PostCreateCommand    *Command `json:"postCreateCommand,omitempty"`
	PostStartCommand     *Command `json:"postStartCommand,omitempty"`
	PostAttachCommand    *Command `json:"postAttachCommand,omitempty"`
	WaitFor              string   `json:"waitFor,omitempty"`

	HostRequirements *HostRequirements `json:"hostRequirements,omitempty"`
	Customizations   RawJSON           `json:"customizations,omitempty"`
	Secrets          RawMap            `json:"secrets,omitempty"`

	// Unknown are the top-level properties the spec does not define, as the file spells
	// them (a tool's own, or a typo); Present are those it does, that the file sets.
	Unknown []string `json:"-"`
	Present []string `json:"-"`
}

// Build is the build property: a Dockerfile and how to build it.
type Build struct {
	Dockerfile string     `json:"dockerfile,omitempty"`
	Context    string     `json:"context,omitempty"`
	Args       StringMap  `json:"args,omitempty"`
	Target     string     `json:"target,omitempty"`
	Options    []string   `json:"options,omitempty"`
	CacheFrom  StringList `json:"cacheFrom,omitzero"`
}

// HostRequirements are the least the host must give: CPUs, memory and storage ("4gb").
type HostRequirements struct {
	CPUs    int     `json:"cpus,omitempty"`
	Memory  string  `json:"memory,omitempty"`
	Storage string  `json:"storage,omitempty"`
	GPU     RawJSON `json:"gpu,omitempty"`
}

// Kind says how the base is made.
type Kind string

const (
	KindImage      Kind = "image"
	KindDockerfile Kind = "dockerfile"
	KindCompose    Kind = "compose"
)

// Kind is how c's base is made; Parse refuses a file that says none or several.
func (c *Config) Kind() Kind {
	switch {
	case len(c.DockerComposeFile.Items) > 0:
		return KindCompose
	case c.Build != nil && c.Build.Dockerfile != "" || c.DockerFile != "":
		return KindDockerfile
	}
	return KindImage
}

// Dockerfile and BuildContext are the Dockerfile build's file and context, relative to
// the devcontainer.json's directory, in either of the spec's forms; "" when the base is
// not a Dockerfile build. The context defaults to the Dockerfile's directory's "." — the
// directory of devcontainer.json.
func (c *Config) Dockerfile() string {
	if c.Build != nil && c.Build.Dockerfile != "" {
		return c.Build.Dockerfile
	}
	return c.DockerFile
}

func (c *Config) BuildContext() string {
	switch {
	case c.Build != nil && c.Build.Context != "":
		return c.Build.Context
	case c.Context != "":
		return c.Context
	}
	return "."
}

// Parse reads a devcontainer.json's content, JSON with comments and trailing commas as
// the spec allows; name names the file in errors, each with its line and column.
func Parse(name string, b []byte) (*Config, error) {
	v, err := hujson.Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "hujson: "))
	}
	v.Standardize() // comments and trailing commas become spaces: offsets stay the file's
	std := v.Pack()
	obj, ok := v.Value.(*hujson.Object)
	if !ok {
		line, col := position(std, int64(v.StartOffset))
		return nil, fmt.Errorf("%s: line %d, column %d: the file is not a JSON object", name, line, col)
	}
	// Each property alone first, so that an error says which, and where its value is.
	c := &Config{}
	for _, m := range obj.Members {
		key, _ := m.Name.Value.(hujson.Literal)
		prop := key.String()
		if !slices.Contains(properties, prop) {
			c.Unknown = append(c.Unknown, prop)
			continue
		}
		c.Present = append(c.Present, prop)
		one, err := json.Marshal(map[string]json.RawMessage{prop: m.Value.Pack()})
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(one, &Config{}); err != nil {
			line, col := position(std, int64(m.Value.StartOffset))
			return nil, fmt.Errorf("%s: line %d, column %d: %s: %s", name, line, col, prop, why(err))
		}
	}
	if err := json.Unmarshal(std, c); err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	slices.Sort(c.Unknown)
	slices.Sort(c.Present)
	if err := c.check(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return c, nil
}

// Load reads the devcontainer.json at path.
func Load(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, b)
}

// check refuses a file whose base is not one of the spec's three.
func (c *Config) check() error {
	var bases []string
	if c.Image != "" {
		bases = append(bases, "image")
	}
	if c.Dockerfile() != "" {
		bases = append(bases, "build.dockerfile")
	}
	if len(c.DockerComposeFile.Items) > 0 {
		bases = append(bases, "dockerComposeFile")
	}
	switch {
	case len(bases) == 0:
		return errors.New("it names no base: give it an image, a build.dockerfile or a dockerComposeFile with a service")
	case len(bases) > 1 && !(len(bases) == 2 && bases[0] == "image" && bases[1] == "build.dockerfile"):
		return fmt.Errorf("it names more than one base (%s): keep one", strings.Join(bases, ", "))
	case len(c.DockerComposeFile.Items) > 0 && c.Service == "":
		return errors.New("dockerComposeFile needs the service the devcontainer is: add \"service\"")
	}
	return nil
}

// why is what a property's decoding error says was wrong with its value.
func why(err error) string {
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		return fmt.Sprintf("it takes %s, not a %s", kindOf(typ.Type), typ.Value)
	}
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); strings.HasPrefix(msg, "json: ") && i >= 0 {
		msg = msg[i+2:]
	}
	return msg
}

// kindOf is what a JSON value of Go type t is, in the spec's words.
func kindOf(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Pointer:
		return kindOf(t.Elem())
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "a number"
}

// position is the 1-based line and column of byte offset in b.
func position(b []byte, offset int64) (line, col int) {
	offset = min(offset, int64(len(b)))
	before := b[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(offset) - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}

// Properties are the top-level properties the spec defines.
func Properties() []string { return slices.Clone(properties) }

var properties = []string{
	"name", "image", "build", "dockerFile", "context", "dockerComposeFile", "service", "runServices",
	"workspaceFolder", "workspaceMount", "appPort", "runArgs", "shutdownAction", "overrideCommand",
	"features", "overrideFeatureInstallOrder", "forwardPorts", "portsAttributes", "otherPortsAttributes",
	"containerEnv", "remoteEnv", "containerUser", "remoteUser", "updateRemoteUserUID", "userEnvProbe",
	"mounts", "init", "privileged", "capAdd", "securityOpt", "initializeCommand", "onCreateCommand",
	"updateContentCommand", "postCreateCommand", "postStartCommand", "postAttachCommand", "waitFor",
	"hostRequirements", "customizations", "secrets", "$schema",
}
