package agent

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/docker-magents/docker-magents/images/supervisor/agentconfig"
)

// ConfigShow is `magents-supervisor config show`: what this agent effectively has of the
// fleet's shared config, as an agentconfig.Report.
func ConfigShow(cfg Config, w io.Writer) int {
	out := agentconfig.Report{Shared: cfg.SharedConfig, Files: []agentconfig.ReportFile{}, Servers: []agentconfig.ReportServer{}, Settings: []string{}}
	set, m, err := readSet(stagedDir(cfg))
	if err != nil {
		out.Problems = append(out.Problems, err.Error())
	}
	if cfg.SharedConfig && set != nil {
		out.Generation, out.Digest = m.Generation, m.Digest()
		for _, name := range set.Names() {
			path := filepath.Join(cfg.ClaudeConfigDir, filepath.FromSlash(name))
			switch name {
			case agentconfig.MCP:
				path = claudeStatePath(cfg) + " (mcpServers)"
			case agentconfig.Settings:
				path = filepath.Join(cfg.ClaudeConfigDir, "settings.json") + " (merged)"
			}
			out.Files = append(out.Files, agentconfig.ReportFile{Name: name, Path: path, Digest: agentconfig.Digest(set[name])})
		}
	}
	var rec placedRecord
	if b, err := os.ReadFile(placedPath(cfg)); err == nil {
		_ = json.Unmarshal(b, &rec)
	}
	out.Settings = append(out.Settings, rec.SettingsKeys...)
	state, _ := readJSONObject(claudeStatePath(cfg))
	servers, _ := state["mcpServers"].(map[string]any)
	names := make([]string, 0, len(servers))
	for n := range servers {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s, _ := servers[n].(map[string]any)
		shown := agentconfig.ReportServer{Name: n, Server: agentconfig.Redacted(s), Problem: serverRuntimeProblem(n, s)}
		if shown.Problem != "" {
			out.Problems = append(out.Problems, shown.Problem)
		}
		out.Servers = append(out.Servers, shown)
	}
	// The fleet's git identity, in git's command-line scope (GIT_CONFIG_COUNT …).
	n, _ := strconv.Atoi(os.Getenv("GIT_CONFIG_COUNT"))
	for i := range n {
		key := os.Getenv("GIT_CONFIG_KEY_" + strconv.Itoa(i))
		if k, ok := strings.CutPrefix(key, "user."); ok && (k == "name" || k == "email") {
			if out.Git == nil {
				out.Git = map[string]string{}
			}
			out.Git[k] = os.Getenv("GIT_CONFIG_VALUE_" + strconv.Itoa(i))
		}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(out)
	return 0
}

// serverRuntimeProblem says when a stdio MCP server's command is not in this image, with
// the fix; "" when it is there (or the server is remote).
func serverRuntimeProblem(name string, s map[string]any) string {
	cmd, _ := s["command"].(string)
	if cmd == "" {
		return ""
	}
	if _, err := exec.LookPath(cmd); err == nil {
		return ""
	}
	fix := "install it in an image derived from this one (FROM magents/claude-agent) and run the agents on that (docker magents up --image …)"
	switch filepath.Base(cmd) {
	case "npx", "node", "npm":
		fix = "use the dev image, which has Node.js: docker magents up --image magents/claude-agent:dev (built with docker magents build --target dev)"
	}
	return fmt.Sprintf("MCP server %q runs %s, which this image lacks: %s", name, cmd, fix)
}
