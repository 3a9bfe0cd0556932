package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/docker-magents/docker-magents/images/supervisor/atomicfile"
	"github.com/docker-magents/docker-magents/images/supervisor/logs"
)

// prepareConfigDir makes the Claude config dir ready for an unattended start: the
// host login from the read-only auth mount (when there is one) is copied in, and
// .claude.json records onboarding as done, the workspace as trusted and the API key
// (when one is given) as approved, so an attached user lands at Claude's prompt.
func prepareConfigDir(cfg Config, apiKey string) error {
	if err := os.MkdirAll(cfg.ClaudeConfigDir, 0o700); err != nil {
		return fmt.Errorf("creating Claude config dir %s: %w", cfg.ClaudeConfigDir, err)
	}
	fromAuth, err := copyAuthMount(cfg)
	if err != nil {
		return err
	}
	path := claudeStatePath(cfg)
	if _, err := setAsideCorrupt(path); err != nil {
		return err
	}
	state, err := readJSONObject(path)
	if err != nil {
		return err
	}
	// The host's state wins over what the volume kept, except for what we seed below.
	for k, v := range fromAuth {
		state[k] = v
	}
	seedClaudeState(state, cfg.Workspace, apiKey)
	if cfg.WorkDir != "" && cfg.WorkDir != cfg.Workspace {
		seedClaudeState(state, cfg.WorkDir, apiKey) // trusted where Claude works, too
	}
	return writeJSONObject(path, state, 0o600)
}

// seedClaudeState sets the keys that skip Claude Code's first-run screens.
func seedClaudeState(state map[string]any, workspace, apiKey string) {
	state["hasCompletedOnboarding"] = true
	projects := object(state, "projects")
	project := object(projects, workspace)
	project["hasTrustDialogAccepted"] = true
	project["hasCompletedProjectOnboarding"] = true
	if apiKey != "" {
		// Claude Code asks whether to use a key from the environment unless the key's
		// last 20 characters are listed as approved.
		suffix := apiKey
		if len(suffix) > 20 {
			suffix = suffix[len(suffix)-20:]
		}
		responses := object(state, "customApiKeyResponses")
		approved := stringList(responses["approved"])
		if !slices.Contains(approved, suffix) {
			approved = append(approved, suffix)
		}
		rejected := slices.DeleteFunc(stringList(responses["rejected"]), func(s string) bool { return s == suffix })
		responses["approved"] = approved
		responses["rejected"] = rejected
	}
}

// copyAuthMount copies a host's Claude login from the auth mount (the guide's /auth) into
// the config dir and returns the keys of its .claude.json (or legacy config.json) to merge.
func copyAuthMount(cfg Config) (map[string]any, error) {
	if fi, err := os.Stat(cfg.AuthDir); err != nil || !fi.IsDir() {
		return nil, nil
	}
	for _, name := range []string{".credentials.json", "settings.json"} {
		src := filepath.Join(cfg.AuthDir, name)
		b, err := os.ReadFile(src)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, unreadable(src, err)
		}
		if err := atomicfile.Write(filepath.Join(cfg.ClaudeConfigDir, name), b, 0o600); err != nil {
			return nil, err
		}
	}
	merged := map[string]any{}
	// config.json is where older Claude Code releases (and the guide) kept this state.
	for _, name := range []string{"config.json", ".claude.json"} {
		src := filepath.Join(cfg.AuthDir, name)
		if _, err := os.Stat(src); err != nil {
			continue
		}
		m, err := readJSONObject(src)
		if err != nil {
			return nil, err
		}
		for k, v := range m {
			merged[k] = v
		}
	}
	return merged, nil
}

func unreadable(path string, err error) error {
	if errors.Is(err, fs.ErrPermission) {
		return fmt.Errorf("cannot read %s as uid %d: the host file is probably mode 0600 and owned by another user; run the agent as that user (docker run --user UID:GID) or make the file readable", path, os.Getuid())
	}
	return fmt.Errorf("reading %s: %w", path, err)
}

func claudeStatePath(cfg Config) string { return filepath.Join(cfg.ClaudeConfigDir, ".claude.json") }

// setAsideCorrupt moves a .claude.json that is not a JSON object (a crash mid-write by
// another tool, a full disk) to a dated backup, so Claude starts afresh rather than stop
// at its first-run screens; it returns the backup's path when it did.
func setAsideCorrupt(path string) (string, error) {
	_, err := readJSONObject(path)
	if !errors.Is(err, errNotJSON) {
		return "", nil
	}
	backup := path + ".corrupt-" + time.Now().UTC().Format("20060102T150405.000Z")
	if rerr := os.Rename(path, backup); rerr != nil {
		return "", fmt.Errorf("%w; keeping it aside failed too: %v", err, rerr)
	}
	logs.Printf("%v: kept as %s; Claude starts afresh", err, backup)
	return backup, nil
}

// errNotJSON marks a file that exists but does not hold a JSON object.
var errNotJSON = errors.New("fix or remove it")

func readJSONObject(path string) (map[string]any, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]any{}, nil
	}
	if err != nil {
		return nil, unreadable(path, err)
	}
	m := map[string]any{}
	if len(b) == 0 {
		return m, nil
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s is not a JSON object (%v): %w", path, err, errNotJSON)
	}
	return m, nil
}

func writeJSONObject(path string, m map[string]any, perm os.FileMode) error {
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(b, '\n'), perm)
}

// object returns m[key] as an object, creating it (or replacing a non-object) when needed.
func object(m map[string]any, key string) map[string]any {
	if o, ok := m[key].(map[string]any); ok {
		return o
	}
	o := map[string]any{}
	m[key] = o
	return o
}

func stringList(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, e := range list {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	if ss, ok := v.([]string); ok {
		out = append(out, ss...)
	}
	return out
}
