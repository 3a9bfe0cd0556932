package agentconfig

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestParseObjectNamesTheLine(t *testing.T) {
	for in, want := range map[string]string{
		"{\n  \"a\": 1,\n  \"b\": oops\n}": "settings.json: line 3, column 8",
		"{\n  \"a\": 1,\n":                 "settings.json: line 3, column 1: unexpected end",
		"[1, 2]":                           "not a JSON object",
		"{} {}":                            "line 1, column 4: more after the JSON object",
	} {
		_, err := ParseObject("settings.json", []byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", in, err, want)
		}
	}
	obj, err := ParseObject("settings.json", []byte(`{"model": "opus", "n": 12345678901234567890}`))
	if err != nil || obj["model"] != "opus" || obj["n"].(json.Number).String() != "12345678901234567890" {
		t.Errorf("a valid object: %v %v", obj, err)
	}
}

func TestCheck(t *testing.T) {
	good := Set{
		ClaudeMD:              "# Team rules\nUse $HOME as is.\n",
		Settings:              `{"permissions": {"allow": ["Bash(go test:*)"]}, "env": {"GOFLAGS": "-mod=mod", "GITHUB_TOKEN": "${GITHUB_TOKEN}"}}`,
		MCP:                   `{"mcpServers": {"docs": {"command": "docs-mcp", "args": ["--stdio", "--token", "${DOCS_TOKEN}", "--api-key=${DOCS_API_KEY}"], "env": {"API_KEY": "${DOCS_API_KEY}"}}, "web": {"type": "http", "url": "https://mcp.example.com/sse?token=${MCP_TOKEN}", "headers": {"Authorization": "Bearer ${MCP_TOKEN}"}}}}`,
		"commands/review.md":  "Review the diff.",
		"commands/go/test.md": "Run the tests.",
	}
	if err := good.Check(); err != nil {
		t.Fatalf("a good set: %v", err)
	}
	for name, c := range map[string]struct {
		set  Set
		want string
	}{
		"settings do not parse":         {Set{Settings: "{\n\"a\": }"}, "settings.json: line 2, column 6"},
		"not the .mcp.json shape":       {Set{MCP: `{"servers": {}}`}, `no "mcpServers" object`},
		"a server without command":      {Set{MCP: `{"mcpServers": {"x": {"args": []}}}`}, `server "x" has neither a command nor a url`},
		"a literal token in env":        {Set{MCP: `{"mcpServers": {"gh": {"command": "gh-mcp", "env": {"GITHUB_TOKEN": "ghp_abc"}}}}`}, "mcpServers.gh.env.GITHUB_TOKEN holds a credential written out"},
		"a literal header":              {Set{MCP: `{"mcpServers": {"w": {"url": "https://x", "headers": {"Authorization": "Bearer abc"}}}}`}, "headers.Authorization holds a credential"},
		"a literal token in args":       {Set{MCP: `{"mcpServers": {"gh": {"command": "gh-mcp", "args": ["--stdio", "--github-token", "abc123"]}}}`}, "mcpServers.gh.args holds a credential written out (the value of --github-token)"},
		"a literal key=value in args":   {Set{MCP: `{"mcpServers": {"gh": {"command": "x", "args": ["--api-key=abc123"]}}}`}, "the value of --api-key"},
		"a token of a known shape":      {Set{MCP: `{"mcpServers": {"gh": {"command": "x", "args": ["serve", "ghp_abcdefgh12345678"]}}}`}, "argument 2"},
		"a password in a url":           {Set{MCP: `{"mcpServers": {"w": {"url": "https://bot:hunter2@mcp.example.com/sse"}}}`}, "mcpServers.w.url holds a credential written out (its password)"},
		"a key in a url's query":        {Set{MCP: `{"mcpServers": {"w": {"url": "https://mcp.example.com/sse?api_key=abc"}}}`}, "its api_key parameter"},
		"a literal key in settings env": {Set{Settings: `{"env": {"ANTHROPIC_API_KEY": "sk-ant-x"}}`}, "env.ANTHROPIC_API_KEY holds a credential"},
		"an unknown file":               {Set{"notes.txt": "x"}, "notes.txt: not a file of the shared config"},
		"a command outside":             {Set{"commands/../x.md": "x"}, "not a file of the shared config"},
		"a hidden command":              {Set{"commands/.secret.md": "x"}, "not a file of the shared config"},
	} {
		err := c.set.Check()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), "ghp_abc") {
			t.Errorf("%s: the error repeats the secret: %v", name, err)
		}
	}
}

func TestMergeSettings(t *testing.T) {
	current := map[string]any{"model": "sonnet", "theme": "dark", "permissions": map[string]any{"defaultMode": "plan"}, "old": 1}
	shared := map[string]any{"model": "opus", "permissions": map[string]any{"allow": []any{"Bash(ls)"}}}
	out, placed := MergeSettings(current, shared, []string{"old"})
	if out["model"] != "opus" || out["theme"] != "dark" || out["old"] != nil {
		t.Errorf("merged: %v", out)
	}
	if p := out["permissions"].(map[string]any); p["defaultMode"] != nil || p["allow"] == nil {
		t.Errorf("the team's permissions replace the agent's: %v", p)
	}
	if strings.Join(placed, ",") != "model,permissions" {
		t.Errorf("placed: %v", placed)
	}
	// The next set drops model: the agent's own value is gone too (it was the team's).
	out, placed = MergeSettings(out, map[string]any{"permissions": shared["permissions"]}, placed)
	if _, ok := out["model"]; ok || out["theme"] != "dark" || len(placed) != 1 {
		t.Errorf("after dropping a key: %v %v", out, placed)
	}
}

func TestMergeServers(t *testing.T) {
	state := map[string]any{"hasCompletedOnboarding": true, "mcpServers": map[string]any{"mine": map[string]any{"command": "x"}, "old": map[string]any{"command": "y"}}}
	placed := MergeServers(state, map[string]map[string]any{"docs": {"command": "docs-mcp"}}, []string{"old"})
	servers := state["mcpServers"].(map[string]any)
	if servers["mine"] == nil || servers["docs"] == nil || servers["old"] != nil || len(placed) != 1 {
		t.Errorf("servers: %v placed %v", servers, placed)
	}
	MergeServers(state, nil, placed)
	if servers := state["mcpServers"].(map[string]any); servers["docs"] != nil || servers["mine"] == nil {
		t.Errorf("after the set drops docs: %v", servers)
	}
}

func TestRedacted(t *testing.T) {
	obj := map[string]any{"mcpServers": map[string]any{"w": map[string]any{
		"url": "https://x", "headers": map[string]any{"Authorization": "Bearer abc", "X-Ref": "${REF}"},
		"env": map[string]any{"PLAIN": "visible?"},
	}}}
	b, _ := json.Marshal(Redacted(obj))
	s := string(b)
	if strings.Contains(s, "abc") || strings.Contains(s, "visible?") || !strings.Contains(s, "${REF}") || !strings.Contains(s, "https://x") {
		t.Errorf("redacted: %s", s)
	}
	if obj["mcpServers"].(map[string]any)["w"].(map[string]any)["headers"].(map[string]any)["Authorization"] != "Bearer abc" {
		t.Error("Redacted changed its input")
	}
}

func TestManifest(t *testing.T) {
	m := Set{ClaudeMD: "a"}.Manifest("2026-11-27T10:00:00Z")
	if m.Files[ClaudeMD] != Digest("a") || !strings.HasPrefix(Digest("a"), "sha256:") {
		t.Errorf("manifest: %+v", m)
	}
	later := Set{ClaudeMD: "b"}.Manifest("2026-11-27T10:00:01.5Z")
	if !later.Newer(m) || m.Newer(later) || !m.Newer(Manifest{}) || (Manifest{}).Newer(m) {
		t.Error("generations are not ordered")
	}
	if m.Digest() == later.Digest() || m.Digest() != (Set{ClaudeMD: "a"}).Manifest("other").Digest() {
		t.Error("the set's digest depends on more than its files")
	}
}
