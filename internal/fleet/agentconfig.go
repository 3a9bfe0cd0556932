package fleet

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/docker-magents/docker-magents/images/supervisor/agentconfig"
	"github.com/docker-magents/docker-magents/images/supervisor/gitrelay"
)

// ConfigDeliveredDir is where compose puts the shared config in each agent (read by the
// supervisor, which places it into the agent's Claude config dir).
const ConfigDeliveredDir = "/etc/magents/config"

// MaxConfigBytes bounds the shared config: it travels inline in the compose file.
const MaxConfigBytes = 1 << 20

func (c AgentConfig) hasFiles() bool {
	return c.ClaudeMD != "" || c.Settings != "" || c.MCP != "" || c.Commands != ""
}

// LoadConfigSet reads the shared config's files from the host into f.ConfigSet, checks
// them (JSON that parses, no credential written out), and keeps f.Config's generation
// unless the set changed (then now).
func (f *Fleet) LoadConfigSet(now time.Time) error {
	set := agentconfig.Set{}
	var errs []error
	read := func(name, path string) {
		if path == "" {
			return
		}
		b, err := os.ReadFile(f.Abs(path))
		if err != nil {
			errs = append(errs, fmt.Errorf("reading the shared %s: %w", name, err))
			return
		}
		set[name] = string(b)
	}
	read(agentconfig.ClaudeMD, f.Config.ClaudeMD)
	read(agentconfig.Settings, f.Config.Settings)
	read(agentconfig.MCP, f.Config.MCP)
	if f.Config.Commands != "" {
		dir := f.Abs(f.Config.Commands)
		err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && path != dir && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			if d.IsDir() || !strings.HasSuffix(d.Name(), ".md") || strings.HasPrefix(d.Name(), ".") {
				return nil
			}
			rel, err := filepath.Rel(dir, path)
			if err != nil {
				return err
			}
			read(agentconfig.CommandsDir+"/"+filepath.ToSlash(rel), path)
			return nil
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("reading the shared commands: %w", err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if err := set.Check(); err != nil {
		return err
	}
	size := 0
	for _, c := range set {
		size += len(c)
	}
	if size > MaxConfigBytes {
		return fmt.Errorf("the shared agent config is %d bytes: it travels in the compose file, keep it under %d (large references belong in the workspace)", size, MaxConfigBytes)
	}
	if len(set) == 0 {
		f.ConfigSet, f.Config.Generation, f.Config.Digest = nil, "", ""
		return nil
	}
	digest := set.Manifest("").Digest()
	if digest != f.Config.Digest || f.Config.Generation == "" {
		f.Config.Generation, f.Config.Digest = now.UTC().Format(time.RFC3339Nano), digest
	}
	f.ConfigSet = set
	return nil
}

// GitRelayConfig is the agents' git settings for the gateway's git relay, base being the
// gateway as the agents reach it: each remote of GitRemotes rewritten to the relay
// (url.insteadOf), and the supervisor's credential helper answering the relay with the
// agent's token. Nothing without git credentials.
func (f *Fleet) GitRelayConfig(base string) [][2]string {
	if f.Config.GitCredentials == "" {
		return nil
	}
	var pairs [][2]string
	for _, remote := range f.GitRemotes {
		key, ok := gitrelay.Key(remote)
		if !ok {
			continue
		}
		pairs = append(pairs, [2]string{"url." + gitrelay.URL(base, key) + ".insteadOf", gitrelay.Upstream(key)})
	}
	return append(pairs, [2]string{"credential." + base + ".helper", "!magents-supervisor git-credential"})
}

// GitConfigEnv is git settings for the agents as environment variables in git's
// command-line scope (GIT_CONFIG_COUNT, GIT_CONFIG_KEY_n, GIT_CONFIG_VALUE_n): above every
// config file, so never written into a repository's .git/config (in worktree mode the
// host user's own), and below an explicit git -c. The fleet's git identity comes first
// (user.name, user.email: author and committer of the agents' commits), then extra.
func (f *Fleet) GitConfigEnv(extra ...[2]string) map[string]string {
	var pairs [][2]string
	if n := f.Config.GitUserName; n != "" {
		pairs = append(pairs, [2]string{"user.name", n})
	}
	if e := f.Config.GitUserEmail; e != "" {
		pairs = append(pairs, [2]string{"user.email", e})
	}
	pairs = append(pairs, extra...)
	if len(pairs) == 0 {
		return nil
	}
	env := map[string]string{"GIT_CONFIG_COUNT": strconv.Itoa(len(pairs))}
	for i, kv := range pairs {
		env["GIT_CONFIG_KEY_"+strconv.Itoa(i)] = kv[0]
		env["GIT_CONFIG_VALUE_"+strconv.Itoa(i)] = kv[1]
	}
	return env
}
