package devcontainer

import (
	"encoding/json"
	"path/filepath"
	"regexp"
	"slices"
)

// Vars are what the spec's variables stand for where docker-magents reads the file.
type Vars struct {
	LocalWorkspaceFolder     string // the project's directory on the host
	ContainerWorkspaceFolder string // where it is in the agent
	DevcontainerID           string
	// LocalEnv is the developer's environment as far as it may reach the file: the file is
	// the repository's, which an agent's branch can change, so only names the developer
	// allows are given (the rest read as unset).
	LocalEnv func(name string) (string, bool)
}

// variable is ${name} or ${kind:arg} or ${kind:arg:default}.
var variable = regexp.MustCompile(`\$\{([^}:]+)(?::([^}:]*))?(?::([^}]*))?\}`)

// Substitute returns a copy of c with the spec's variables replaced in every string:
// ${localEnv:NAME[:default]}, ${localWorkspaceFolder}, ${containerWorkspaceFolder}, their
// …Basename forms and ${devcontainerId}. ${containerEnv:NAME} is left for the container
// to resolve. It also returns the localEnv names the file asked for that vars withheld.
func (c *Config) Substitute(v Vars) (*Config, []string, error) {
	b, err := json.Marshal(c)
	if err != nil {
		return nil, nil, err
	}
	var tree any
	if err := json.Unmarshal(b, &tree); err != nil {
		return nil, nil, err
	}
	var withheld []string
	tree = walkStrings(tree, func(s string) string {
		return variable.ReplaceAllStringFunc(s, func(ref string) string {
			m := variable.FindStringSubmatch(ref)
			kind, arg, def := m[1], m[2], m[3]
			switch kind {
			case "localEnv", "env":
				if v.LocalEnv != nil {
					if val, ok := v.LocalEnv(arg); ok {
						return val
					}
				}
				if !slices.Contains(withheld, arg) {
					withheld = append(withheld, arg)
				}
				return def
			case "localWorkspaceFolder":
				return v.LocalWorkspaceFolder
			case "localWorkspaceFolderBasename":
				return filepath.Base(v.LocalWorkspaceFolder)
			case "containerWorkspaceFolder":
				return v.ContainerWorkspaceFolder
			case "containerWorkspaceFolderBasename":
				return filepath.Base(v.ContainerWorkspaceFolder)
			case "devcontainerId":
				if v.DevcontainerID == "" {
					return ref // known once the container's labels are
				}
				return v.DevcontainerID
			}
			return ref // ${containerEnv:…}, and what the spec does not define
		})
	})
	b, err = json.Marshal(tree)
	if err != nil {
		return nil, nil, err
	}
	out := &Config{}
	if err := json.Unmarshal(b, out); err != nil {
		return nil, nil, err
	}
	out.Unknown, out.Present = c.Unknown, c.Present
	slices.Sort(withheld)
	return out, withheld, nil
}

// walkStrings applies fn to every string of a decoded JSON value, keys left as they are.
func walkStrings(v any, fn func(string) string) any {
	switch v := v.(type) {
	case string:
		return fn(v)
	case []any:
		for i := range v {
			v[i] = walkStrings(v[i], fn)
		}
	case map[string]any:
		for k := range v {
			v[k] = walkStrings(v[k], fn)
		}
	}
	return v
}

// AllowedEnv is a LocalEnv that gives the names in allow, from lookup.
func AllowedEnv(allow []string, lookup func(string) (string, bool)) func(string) (string, bool) {
	return func(name string) (string, bool) {
		if !slices.Contains(allow, name) {
			return "", false
		}
		return lookup(name)
	}
}
