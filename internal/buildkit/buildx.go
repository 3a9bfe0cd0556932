package buildkit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/moby/buildkit/client"
)

// Endpoint is the BuildKit daemon a build uses. It is named as buildx names a builder: a
// BuildKit address (unix://, tcp://, docker-container://…), the name of a builder
// instance that `docker buildx create` saved in buildx's store ($BUILDX_CONFIG, else the
// Docker config dir's buildx/), or the name of a docker context (buildx's docker driver:
// that engine's own BuildKit). Left out, it is $BUILDKIT_HOST, else $BUILDX_BUILDER, else
// the builder `docker buildx use` selected for this engine, else the engine's own.
type Endpoint struct {
	Name string // what the user named: the address, or the buildx builder
	Addr string // "" for the engine's own BuildKit
	opts []client.ClientOpt
}

// BuildxStore is buildx's store of builder instances.
type BuildxStore struct {
	Dir string
	// CurrentContext is the docker context in use; CurrentKey is buildx's key of the
	// current engine: the context's name, or for the default context its host.
	CurrentContext, CurrentKey string
	// Contexts are the names of the docker contexts, which buildx also lists as builders.
	Contexts []string
}

// BuildxDir is the buildx store of a Docker config dir, as buildx finds it.
func BuildxDir(dockerConfigDir string) string {
	if d := os.Getenv("BUILDX_CONFIG"); d != "" {
		return d
	}
	return filepath.Join(dockerConfigDir, "buildx")
}

var addressScheme = regexp.MustCompile(`^[a-z][a-z0-9+.-]*://`)

// Resolve turns what --builder gave (or "" when it was left out) into an endpoint.
func (s BuildxStore) Resolve(name string) (Endpoint, error) {
	if name == "" {
		name = os.Getenv("BUILDKIT_HOST")
	}
	if name == "" {
		name = os.Getenv("BUILDX_BUILDER")
	}
	if name == "" {
		current, err := s.current()
		if err != nil {
			return Endpoint{}, err
		}
		if current == "" {
			return Endpoint{Name: EmbeddedName}, nil
		}
		name = current
	}
	if addressScheme.MatchString(name) {
		return Endpoint{Name: name, Addr: name}, nil
	}
	return s.instance(name)
}

// buildxInstance is a builder instance as buildx saves it (store.NodeGroup).
type buildxInstance struct {
	Name   string
	Driver string
	Nodes  []struct {
		Name       string
		Endpoint   string
		DriverOpts map[string]string
	}
}

// instance is the endpoint of the builder named name.
func (s BuildxStore) instance(name string) (Endpoint, error) {
	b, err := os.ReadFile(filepath.Join(s.Dir, "instances", strings.ToLower(name)))
	if errors.Is(err, fs.ErrNotExist) {
		switch {
		case name == EmbeddedName || name == s.CurrentContext || name == "default" && s.CurrentContext == "":
			return Endpoint{Name: name}, nil // the docker driver of the current engine
		case slices.Contains(s.Contexts, name):
			return Endpoint{}, fmt.Errorf("builder %q is the BuildKit of docker context %s, not of the engine in use (%s): run docker --context %s magents build, or give a BuildKit address", name, name, s.CurrentContext, name)
		}
		return Endpoint{}, fmt.Errorf("no builder %q: give a builder from 'docker buildx ls' or a BuildKit address (unix://, tcp://, docker-container://)", name)
	}
	if err != nil {
		return Endpoint{}, fmt.Errorf("reading buildx's builder %q: %w", name, err)
	}
	var inst buildxInstance
	if err := json.Unmarshal(b, &inst); err != nil {
		return Endpoint{}, fmt.Errorf("reading buildx's builder %q: %w", name, err)
	}
	if len(inst.Nodes) == 0 {
		return Endpoint{}, fmt.Errorf("builder %q has no nodes: see 'docker buildx inspect %s'", name, name)
	}
	node := inst.Nodes[0] // BuildKit is asked through one node, as buildx builds a single platform
	switch inst.Driver {
	case "remote":
		ep := Endpoint{Name: name, Addr: node.Endpoint}
		o := node.DriverOpts
		if o["cacert"] != "" {
			server := o["servername"]
			if server == "" {
				server = hostOf(node.Endpoint)
			}
			ep.opts = append(ep.opts, client.WithServerConfig(server, o["cacert"]))
		}
		if o["cert"] != "" || o["key"] != "" {
			ep.opts = append(ep.opts, client.WithCredentials(o["cert"], o["key"]))
		}
		return ep, nil
	case "docker-container":
		return Endpoint{Name: name, Addr: "docker-container://buildx_buildkit_" + node.Name}, nil
	case "docker":
		if node.Endpoint == s.CurrentContext || node.Endpoint == s.CurrentKey {
			return Endpoint{Name: name}, nil
		}
		return Endpoint{}, fmt.Errorf("builder %q is the BuildKit of the engine at %s, not of the engine in use: use that context, or give a BuildKit address", name, node.Endpoint)
	}
	return Endpoint{}, fmt.Errorf("builder %q uses buildx's %s driver, which docker magents cannot reach: give a remote, docker-container or docker builder, or a BuildKit address", name, inst.Driver)
}

// current is the builder `docker buildx use` selected for this engine ("" for none): the
// one it made global, else the one it set for this engine's key, else the engine's default.
func (s BuildxStore) current() (string, error) {
	b, err := os.ReadFile(filepath.Join(s.Dir, "current"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("reading buildx's current builder: %w", err)
	}
	if err == nil {
		var c struct {
			Key, Name string
			Global    bool
		}
		if err := json.Unmarshal(b, &c); err != nil {
			return "", fmt.Errorf("reading buildx's current builder (%s): %w", filepath.Join(s.Dir, "current"), err)
		}
		if c.Name != "" && (c.Global || c.Key == s.CurrentKey) {
			return c.Name, nil
		}
	}
	sum := sha256.Sum256([]byte(s.CurrentKey))
	b, err = os.ReadFile(filepath.Join(s.Dir, "defaults", hex.EncodeToString(sum[:])[:20]))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	return strings.TrimSpace(string(b)), err
}

// hostOf is the host of a tcp:// address: the name a remote builder's certificate names
// when its servername is not given, as buildx guesses it.
func hostOf(addr string) string {
	u, err := url.Parse(addr)
	if err != nil {
		return ""
	}
	return u.Hostname()
}
