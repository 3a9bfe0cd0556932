package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/docker-magents/docker-magents/images/supervisor/agentconfig"
	"github.com/docker-magents/docker-magents/images/supervisor/atomicfile"
	"github.com/docker-magents/docker-magents/images/supervisor/logs"
)

// The fleet's shared config (CLAUDE.md, settings, MCP servers, commands) reaches an agent
// two ways: compose copies it into the container at each start (cfg.DeliveredConfig, on
// the container's own filesystem), and `config sync` sends a newer set to a running agent.
// Either way the set is staged in the agent's config volume (stagedDir), the newer of the
// two by the manifest's generation, and placed from there into Claude's config dir. What
// was placed is recorded (placedRecord), so a later set replaces it and nothing the agent
// or its user made is touched.

func stagedDir(cfg Config) string {
	return filepath.Join(cfg.ClaudeConfigDir, agentconfig.SharedDirName)
}

func placedPath(cfg Config) string {
	return filepath.Join(cfg.ClaudeConfigDir, "magents", "shared-placed.json")
}

// placedRecord is what the shared config put into Claude's config dir.
type placedRecord struct {
	Digest       string   `json:"digest,omitempty"`
	ClaudeMD     string   `json:"claudeMD,omitempty"` // digest of the CLAUDE.md placed
	Commands     []string `json:"commands,omitempty"`
	Servers      []string `json:"mcpServers,omitempty"`
	SettingsKeys []string `json:"settingsKeys,omitempty"`
}

// readSet reads the set in dir that its manifest lists, checking each file's digest.
// A dir without a manifest holds no set (nil, zero manifest, nil error).
func readSet(dir string) (agentconfig.Set, agentconfig.Manifest, error) {
	var m agentconfig.Manifest
	b, err := os.ReadFile(filepath.Join(dir, agentconfig.ManifestName))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, m, nil
	}
	if err != nil {
		return nil, m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, m, fmt.Errorf("%s: %v", filepath.Join(dir, agentconfig.ManifestName), err)
	}
	set := agentconfig.Set{}
	for name, digest := range m.Files {
		if !agentconfig.ValidName(name) {
			return nil, m, fmt.Errorf("%s lists %q, not a file of the shared config", dir, name)
		}
		content, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
		if err != nil {
			return nil, m, fmt.Errorf("the shared config's %s: %w", name, err)
		}
		if agentconfig.Digest(string(content)) != digest {
			return nil, m, fmt.Errorf("the shared config's %s does not match its manifest (a delivery cut short?)", name)
		}
		set[name] = string(content)
	}
	return set, m, nil
}

// stageSet writes set into the staged dir, each file by rename, the manifest last, and
// removes what an earlier set left there.
func stageSet(cfg Config, set agentconfig.Set, m agentconfig.Manifest) error {
	dir := stagedDir(cfg)
	for _, name := range set.Names() {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return err
		}
		if err := atomicfile.Write(path, []byte(set[name]), 0o600); err != nil {
			return err
		}
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.Write(filepath.Join(dir, agentconfig.ManifestName), append(b, '\n'), 0o600); err != nil {
		return err
	}
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if _, listed := set[filepath.ToSlash(rel)]; !listed && rel != agentconfig.ManifestName {
			return os.Remove(path)
		}
		return nil
	})
}

// currentSet is the set this agent is to have: the delivered one when it is newer than
// the staged one (which it then replaces), else the staged one; nil when the fleet has
// no shared config.
func currentSet(cfg Config) (agentconfig.Set, error) {
	if !cfg.SharedConfig {
		return nil, nil
	}
	delivered, dm, err := readSet(cfg.DeliveredConfig)
	if err != nil {
		return nil, err
	}
	staged, sm, err := readSet(stagedDir(cfg))
	if err != nil {
		logs.Printf("the staged shared config is unusable (%v): taking the delivered one", err)
		staged, sm = nil, agentconfig.Manifest{}
	}
	if delivered != nil && (staged == nil || dm.Newer(sm)) {
		if err := delivered.Check(); err != nil {
			return nil, err
		}
		if err := stageSet(cfg, delivered, dm); err != nil {
			return nil, fmt.Errorf("staging the shared config: %w", err)
		}
		return delivered, nil
	}
	return staged, nil
}

// placeSharedConfig puts the set into Claude's config dir (CLAUDE.md, commands, MCP
// servers into .claude.json) and returns its settings for writeSettings; a nil set takes
// back what an earlier one placed.
func placeSharedConfig(cfg Config, set agentconfig.Set) (map[string]any, *placedRecord, error) {
	var rec placedRecord
	if b, err := os.ReadFile(placedPath(cfg)); err == nil {
		_ = json.Unmarshal(b, &rec)
	}
	if err := set.Check(); err != nil {
		return nil, &rec, err
	}
	rec.Digest = ""
	if set != nil {
		rec.Digest = set.Manifest("").Digest()
	}

	// CLAUDE.md: the team's user memory. One the agent wrote itself is kept aside.
	mdPath := filepath.Join(cfg.ClaudeConfigDir, "CLAUDE.md")
	if md, ok := set[agentconfig.ClaudeMD]; ok {
		if cur, err := os.ReadFile(mdPath); err == nil && agentconfig.Digest(string(cur)) != rec.ClaudeMD && agentconfig.Digest(string(cur)) != agentconfig.Digest(md) {
			if err := os.Rename(mdPath, mdPath+".agent"); err == nil {
				logs.Printf("%s was the agent's own: kept as CLAUDE.md.agent, the fleet's CLAUDE.md takes its place", mdPath)
			}
		}
		if err := atomicfile.Write(mdPath, []byte(md), 0o600); err != nil {
			return nil, &rec, err
		}
		rec.ClaudeMD = agentconfig.Digest(md)
	} else if rec.ClaudeMD != "" {
		if cur, err := os.ReadFile(mdPath); err == nil && agentconfig.Digest(string(cur)) == rec.ClaudeMD {
			_ = os.Remove(mdPath)
		}
		rec.ClaudeMD = ""
	}

	// Slash commands: the set's replace the ones an earlier set placed.
	var commands []string
	for _, name := range set.Names() {
		if !strings.HasPrefix(name, agentconfig.CommandsDir+"/") {
			continue
		}
		path := filepath.Join(cfg.ClaudeConfigDir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, &rec, err
		}
		if err := atomicfile.Write(path, []byte(set[name]), 0o600); err != nil {
			return nil, &rec, err
		}
		commands = append(commands, name)
	}
	for _, old := range rec.Commands {
		if !slices.Contains(commands, old) {
			_ = os.Remove(filepath.Join(cfg.ClaudeConfigDir, filepath.FromSlash(old)))
		}
	}
	rec.Commands = commands

	// MCP servers: into the user scope of .claude.json.
	var servers map[string]map[string]any
	if raw, ok := set[agentconfig.MCP]; ok {
		obj, _ := agentconfig.ParseObject(agentconfig.MCP, []byte(raw))
		servers, _ = agentconfig.Servers(obj)
	}
	if len(servers) > 0 || len(rec.Servers) > 0 {
		state, err := readJSONObject(claudeStatePath(cfg))
		if err != nil {
			return nil, &rec, err
		}
		rec.Servers = agentconfig.MergeServers(state, servers, rec.Servers)
		if err := writeJSONObject(claudeStatePath(cfg), state, 0o600); err != nil {
			return nil, &rec, err
		}
	}

	var settings map[string]any
	if raw, ok := set[agentconfig.Settings]; ok {
		settings, _ = agentconfig.ParseObject(agentconfig.Settings, []byte(raw))
	}
	return settings, &rec, nil
}

func savePlaced(cfg Config, rec *placedRecord) error {
	if err := os.MkdirAll(filepath.Dir(placedPath(cfg)), 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(placedPath(cfg), append(b, '\n'), 0o600)
}

// configureAgent is what every start of the agent does to Claude's config dir after
// prepareConfigDir: the fleet's shared config, then the settings with the supervisor's
// hooks.
func configureAgent(cfg Config, self string) error {
	set, err := currentSet(cfg)
	if err == nil {
		if err = applyConfig(cfg, self, set); err == nil {
			return nil
		}
	}
	// A set that cannot be placed leaves what was placed before as it is; the supervisor's
	// own hooks go in regardless, or the agent's state would not be reported.
	logs.Printf("the fleet's shared config: %v (the agent starts with what it had)", err)
	return writeSettings(cfg, self, nil, &placedRecord{})
}

func applyConfig(cfg Config, self string, set agentconfig.Set) error {
	settings, rec, err := placeSharedConfig(cfg, set)
	if err != nil {
		return err
	}
	if err := writeSettings(cfg, self, settings, rec); err != nil {
		return err
	}
	return savePlaced(cfg, rec)
}

// ConfigApply is `magents-supervisor config apply`: a set as JSON on stdin (what
// `docker magents config sync` sends: {"generation": …, "files": {name: content}}) is
// checked, staged and placed at once; Claude reads it at its next start, or sooner where
// it watches its files (settings).
func ConfigApply(cfg Config, stdin io.Reader, stdout io.Writer) int {
	var in struct {
		Generation string            `json:"generation"`
		Files      map[string]string `json:"files"`
	}
	if err := json.NewDecoder(stdin).Decode(&in); err != nil {
		logs.Printf("config apply: reading the set from stdin: %v", err)
		return 2
	}
	set := agentconfig.Set(in.Files)
	if err := set.Check(); err != nil {
		logs.Printf("config apply: %v", err)
		return 1
	}
	if !cfg.SharedConfig {
		logs.Printf("config apply: this agent was created without the fleet's shared config: run docker magents up to recreate it with one")
		return 1
	}
	m := set.Manifest(in.Generation)
	if err := stageSet(cfg, set, m); err != nil {
		logs.Printf("config apply: %v", err)
		return 1
	}
	self, _ := os.Executable()
	if err := applyConfig(cfg, self, set); err != nil {
		logs.Printf("config apply: %v", err)
		return 1
	}
	_ = json.NewEncoder(stdout).Encode(map[string]any{"applied": m.Digest(), "files": set.Names()})
	return 0
}
