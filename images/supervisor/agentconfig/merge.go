package agentconfig

// MergeSettings lays the shared settings over the agent's current ones: each top-level key
// of shared replaces the agent's (the team's settings win), and keys an earlier shared set
// placed (prev) that shared no longer has are removed. It returns the keys now placed.
// The supervisor's own hooks are added after, by the caller, to whatever hooks result.
func MergeSettings(current, shared map[string]any, prev []string) (map[string]any, []string) {
	out := make(map[string]any, len(current)+len(shared))
	for k, v := range current {
		out[k] = v
	}
	for _, k := range prev {
		if _, still := shared[k]; !still {
			delete(out, k)
		}
	}
	placed := sortedKeys(shared)
	for _, k := range placed {
		out[k] = shared[k]
	}
	return out, placed
}

// MergeServers puts the shared MCP servers into the user scope of Claude's state (its
// .claude.json "mcpServers"): each shared server replaces one of the same name, servers
// an earlier set placed (prev) that are gone are removed, and servers the agent added
// itself are kept. It returns the names now placed.
func MergeServers(state map[string]any, servers map[string]map[string]any, prev []string) []string {
	current, _ := state["mcpServers"].(map[string]any)
	if current == nil {
		current = map[string]any{}
	}
	for _, name := range prev {
		if _, still := servers[name]; !still {
			delete(current, name)
		}
	}
	placed := make([]string, 0, len(servers))
	for name, s := range servers {
		current[name] = s
		placed = append(placed, name)
	}
	if len(current) == 0 {
		delete(state, "mcpServers")
	} else {
		state["mcpServers"] = current
	}
	sortStrings(placed)
	return placed
}
