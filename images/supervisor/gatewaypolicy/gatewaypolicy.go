// Package gatewaypolicy is what the fleet's model gateway relays of a Messages request:
// only what it can meter and contain. A server tool makes Anthropic's servers act for
// the agent — fetch a URL, search the web, call an MCP server, run code — past the
// fleet's egress allowlist, and some are charged by use rather than by token; a beta
// changes what a request may do. So each is refused unless it is on the gateway's list
// or the fleet allows it by name (docker magents up --gateway-allow NAME), and the
// refusal says so. The plugin (validating the flag) and the gateway (applying it)
// import this one package. It imports only the standard library, like the supervisor.
package gatewaypolicy

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
)

// Feature is a server tool, a request field or a beta the fleet may allow by name.
type Feature struct {
	Name string // what --gateway-allow takes
	What string // what it makes Anthropic's servers do, for the refusal and the help
}

// Optional are the features the gateway refuses unless the fleet allows them.
var Optional = []Feature{
	{"web_search", "searches the web from Anthropic's servers, past the fleet's egress allowlist ($10 per 1000 searches, counted)"},
	{"web_fetch", "fetches any URL from Anthropic's servers, past the fleet's egress allowlist"},
	{"code_execution", "runs code in a container at Anthropic, whose time the gateway cannot count"},
	{"mcp_servers", "has Anthropic's servers call the MCP servers at the URLs the request names, past the fleet's egress allowlist"},
}

// clientTools are the tool types Claude runs itself, in the agent (behind the egress
// proxy), and tool search, which looks only among the request's own tools: by family,
// the type's date left out.
var clientTools = []string{"custom", "bash", "text_editor", "computer", "memory", "tool_search_tool_regex", "tool_search_tool_bm25"}

// relayedBetas are the anthropic-beta values relayed without being asked for, by
// family (the date left out): those Claude Code sends (2.1.332, headless and at its
// prompt, with an API key, an auth token and an OAuth token: read off the requests it
// sent a local Messages API double), and those that change nothing but caching or how an
// answer streams. None of them adds a server tool (those are refused by type, whatever
// the beta); context-1m is priced at the long-context rates. A new Claude Code that
// sends another is refused until it is added here (make bump-claude, then the e2e suite).
var relayedBetas = []string{
	"claude-code", "oauth", "interleaved-thinking", "context-management", "per-turn-control",
	"mid-conversation-tool-changes", "thinking-token-count", "advanced-tool-use", "effort",
	"extended-cache-ttl", "afk-mode", "dangerous-tool-use", "redact-thinking", "structured-outputs",
	"thinking-display-updates",
	"fine-grained-tool-streaming", "token-efficient-tools", "prompt-caching", "context-1m",
}

var (
	dated     = regexp.MustCompile(`^(.+?)[-_](\d{4}-?\d{2}-?\d{2})$`)
	validName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
)

// family is a tool type or beta without its date: web_search_20250305 is web_search,
// context-1m-2025-08-07 is context-1m.
func family(s string) string {
	if m := dated.FindStringSubmatch(s); m != nil {
		return m[1]
	}
	return s
}

// Allowed is the set of optional features a fleet allows, and betas by their full name.
type Allowed []string

// Parse reads the comma-separated list the gateway is given (MAGENTS_GATEWAY_ALLOW).
func Parse(s string) Allowed {
	var a Allowed
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			a = append(a, f)
		}
	}
	return a
}

// String is the list as Parse reads it.
func (a Allowed) String() string { return strings.Join(a, ",") }

func (a Allowed) has(name string) bool { return slices.Contains(a, name) }

// Validate refuses a name --gateway-allow cannot take: it takes an optional feature, or
// a beta or server tool type named in full, with its date (files-api-2025-04-14).
func Validate(name string) error {
	for _, f := range Optional {
		if f.Name == name {
			return nil
		}
	}
	if dated.MatchString(name) && validName.MatchString(name) {
		return nil
	}
	names := make([]string, len(Optional))
	for i, f := range Optional {
		names[i] = f.Name
	}
	return fmt.Errorf("--gateway-allow %q: name a server tool or request field (%s), or an anthropic-beta value or server tool type in full (files-api-2025-04-14)", name, strings.Join(names, ", "))
}

// Refusal is why the gateway will not relay a request, and what would allow it.
type Refusal struct {
	Feature string // the feature or beta
	Reason  string
}

func (r *Refusal) Error() string {
	return fmt.Sprintf("the request uses %s, which %s: the gateway relays only what it can meter and contain (allow it with docker magents up --gateway-allow %s)", r.Feature, r.Reason, r.Feature)
}

// request is what the policy reads of a Messages request.
type request struct {
	Tools []struct {
		Type string `json:"type"`
	} `json:"tools"`
	MCPServers json.RawMessage `json:"mcp_servers"`
	Container  json.RawMessage `json:"container"`
}

// Check returns why a Messages request (its headers and body) may not be relayed, or
// nil. A body that is not JSON is left to the API to refuse.
func Check(h http.Header, body []byte, allowed Allowed) *Refusal {
	for _, v := range h.Values("anthropic-beta") {
		for _, beta := range strings.Split(v, ",") {
			beta = strings.TrimSpace(beta)
			if beta == "" || slices.Contains(relayedBetas, family(beta)) || allowed.has(beta) {
				continue
			}
			return &Refusal{beta, "is an anthropic-beta the gateway does not know"}
		}
	}
	var req request
	if json.Unmarshal(body, &req) != nil {
		return nil
	}
	for _, t := range req.Tools {
		if t.Type == "" || slices.Contains(clientTools, family(t.Type)) || allowed.has(t.Type) {
			continue
		}
		if r := optional(family(t.Type), allowed); r != nil {
			if r.Reason == unknownTool {
				r.Feature = t.Type // allowed in full, as a beta is
			}
			return r
		}
	}
	if present(req.MCPServers) {
		if r := optional("mcp_servers", allowed); r != nil {
			return r
		}
	}
	if present(req.Container) {
		if r := optional("code_execution", allowed); r != nil {
			return r
		}
	}
	return nil
}

// optional refuses name unless allowed: an optional feature with its reason, anything
// else as unknown.
func optional(name string, allowed Allowed) *Refusal {
	if allowed.has(name) {
		return nil
	}
	for _, f := range Optional {
		if f.Name == name {
			return &Refusal{name, f.What}
		}
	}
	return &Refusal{name, unknownTool}
}

const unknownTool = "is a server tool the gateway does not know"

// present: a field set to something other than null, [] or {}.
func present(raw json.RawMessage) bool {
	s := strings.TrimSpace(string(raw))
	return s != "" && s != "null" && s != "[]" && s != "{}"
}
