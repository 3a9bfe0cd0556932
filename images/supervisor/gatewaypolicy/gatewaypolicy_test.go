package gatewaypolicy

import (
	"net/http"
	"strings"
	"testing"
)

// What Claude Code 2.1.332 sends is relayed as it is; a server tool that acts from
// Anthropic's servers, an MCP connector, a container and an unknown beta or tool are
// refused, each naming the flag that allows it — and relayed once allowed.
func TestCheck(t *testing.T) {
	claude := "claude-code-20250219,oauth-2025-04-20,interleaved-thinking-2025-05-14,context-management-2025-06-27,per-turn-control-2026-07-01," +
		"mid-conversation-tool-changes-2026-07-01,thinking-token-count-2026-05-13,advanced-tool-use-2025-11-20,effort-2025-11-24,extended-cache-ttl-2025-04-11"
	interactive := claude + ",afk-mode-2026-01-31,dangerous-tool-use-2026-09-03,redact-thinking-2026-02-12,structured-outputs-2025-12-15,thinking-display-updates-2026-08-18"
	clientTools := `{"model":"claude-opus-5-5","tools":[{"name":"Bash","input_schema":{}},{"type":"custom","name":"x"},{"type":"bash_20250124","name":"bash"},{"type":"text_editor_20250728","name":"e"}],"mcp_servers":[],"container":null}`
	for _, tc := range []struct {
		name, beta, body string
		allowed          Allowed
		refused          string // the feature named; "" relays
	}{
		{"Claude Code's own request", claude, clientTools, nil, ""},
		{"Claude Code's at its prompt", interactive, clientTools, nil, ""},
		{"no body to read", "", "not json", nil, ""},
		{"web search", "", `{"tools":[{"type":"web_search_20250305","name":"web_search"}]}`, nil, "web_search"},
		{"web search, allowed", "", `{"tools":[{"type":"web_search_20250305","name":"web_search"}]}`, Allowed{"web_search"}, ""},
		{"web fetch", "web-fetch-2025-09-10", `{"tools":[{"type":"web_fetch_20250910","name":"web_fetch"}]}`, Allowed{"web_fetch"}, "web-fetch-2025-09-10"},
		{"web fetch and its beta, allowed", "web-fetch-2025-09-10", `{"tools":[{"type":"web_fetch_20250910","name":"web_fetch"}]}`, Allowed{"web_fetch", "web-fetch-2025-09-10"}, ""},
		{"the MCP connector", "", `{"mcp_servers":[{"type":"url","url":"https://evil.example/mcp","name":"x"}]}`, nil, "mcp_servers"},
		{"a container", "", `{"container":"container_abc"}`, nil, "code_execution"},
		{"code execution", "", `{"tools":[{"type":"code_execution_20250825","name":"code_execution"}]}`, nil, "code_execution"},
		{"an unknown server tool", "", `{"tools":[{"type":"teleport_20270101","name":"t"}]}`, nil, "teleport_20270101"},
		{"an unknown server tool, allowed in full", "", `{"tools":[{"type":"teleport_20270101","name":"t"}]}`, Allowed{"teleport_20270101"}, ""},
		{"an unknown beta", claude + ",files-api-2025-04-14", clientTools, nil, "files-api-2025-04-14"},
		{"an unknown beta in a second header", "", clientTools, nil, "skills-2025-10-02"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			if tc.beta != "" {
				h.Add("anthropic-beta", tc.beta)
			}
			if tc.name == "an unknown beta in a second header" {
				h.Add("anthropic-beta", claude)
				h.Add("anthropic-beta", "skills-2025-10-02")
			}
			r := Check(h, []byte(tc.body), tc.allowed)
			switch {
			case tc.refused == "" && r != nil:
				t.Fatalf("refused: %v", r)
			case tc.refused != "" && r == nil:
				t.Fatalf("relayed; want %s refused", tc.refused)
			case tc.refused != "" && (r.Feature != tc.refused || !strings.Contains(r.Error(), "--gateway-allow "+tc.refused)):
				t.Fatalf("refusal %q; want it to name %s and its flag", r, tc.refused)
			case tc.refused != "" && Validate(tc.refused) != nil:
				t.Fatalf("the refusal names %s, which --gateway-allow refuses: %v", tc.refused, Validate(tc.refused))
			}
		})
	}
}

func TestValidate(t *testing.T) {
	for _, ok := range []string{"web_search", "web_fetch", "code_execution", "mcp_servers", "files-api-2025-04-14", "teleport_20270101"} {
		if err := Validate(ok); err != nil {
			t.Errorf("Validate(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "all", "*", "web-search", "files-api", "x,y-2025-01-01", "Web_Search_20250305"} {
		if err := Validate(bad); err == nil || !strings.Contains(err.Error(), "web_search, web_fetch") {
			t.Errorf("Validate(%q) = %v", bad, err)
		}
	}
}

func TestParse(t *testing.T) {
	a := Parse(" web_search, ,files-api-2025-04-14 ")
	if a.String() != "web_search,files-api-2025-04-14" || !a.has("web_search") || a.has("web_fetch") {
		t.Errorf("Parse: %q", a)
	}
}
