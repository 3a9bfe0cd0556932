package images

import (
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Options are a build's choices, as docker buildx build's flags give them.
type Options struct {
	Targets   []string // default latest
	Tags      []string // only with a single target
	BuildArgs []string // KEY=VALUE, or KEY to take it from the environment
	Platforms []string
	NoCache   bool
	Pull      bool
	CACert    string // a PEM bundle's path
}

// Resolve applies opts to the default target definitions.
func Resolve(opts Options) ([]*Target, error) {
	names := opts.Targets
	if len(names) == 0 {
		names = []string{"latest"}
	}
	if len(opts.Tags) > 0 && len(names) != 1 {
		return nil, fmt.Errorf("--tag names one image: give it with a single --target (got %d targets)", len(names))
	}
	args, err := ParseBuildArgs(opts.BuildArgs)
	if err != nil {
		return nil, err
	}
	var caCertPath string
	if opts.CACert != "" {
		if caCertPath, err = filepath.Abs(opts.CACert); err != nil {
			return nil, err
		}
	}
	var targets []*Target
	seen := map[string]bool{}
	for _, name := range names {
		if seen[name] {
			continue
		}
		seen[name] = true
		t, err := NewTarget(name)
		if err != nil {
			return nil, err
		}
		for k, v := range args {
			t.Args[k] = &v
		}
		if len(opts.Tags) > 0 {
			t.Tags = slices.Clone(opts.Tags)
		}
		t.Platforms = opts.Platforms
		if opts.NoCache {
			t.NoCache = &opts.NoCache
		}
		if opts.Pull {
			t.Pull = &opts.Pull
		}
		if caCertPath != "" {
			t.Secrets = []Secret{{ID: CACertSecret, FilePath: caCertPath}}
		}
		targets = append(targets, t)
	}
	return targets, nil
}

// ParseBuildArgs reads KEY=VALUE build arguments; KEY alone takes its value from the
// environment, as docker build does, and is left out when unset.
func ParseBuildArgs(list []string) (map[string]string, error) {
	args := map[string]string{}
	for _, kv := range list {
		k, v, ok := strings.Cut(kv, "=")
		if k == "" {
			return nil, fmt.Errorf("invalid --build-arg %q: expected KEY=VALUE", kv)
		}
		if !ok {
			// As docker build: KEY alone takes its value from the environment.
			val, set := os.LookupEnv(k)
			if !set {
				continue
			}
			v = val
		}
		args[k] = v
	}
	return args, nil
}

// ReadCACert reads a PEM bundle and checks that it holds at least one certificate.
func ReadCACert(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--ca-cert: %w", err)
	}
	rest := b
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, fmt.Errorf("--ca-cert %s holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)", path)
		}
		if block.Type == "CERTIFICATE" {
			return b, nil
		}
	}
}
