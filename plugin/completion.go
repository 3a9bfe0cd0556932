package main

import (
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/images"
	"github.com/docker-magents/docker-magents/images/supervisor/agentstate"
	"github.com/docker-magents/docker-magents/internal/fleet"
)

// Completion through docker's __complete (docker magents attach <TAB>): agent names for
// every command that takes them, read from the fleet's compose file (no engine call), and
// the values of the flags that take one of a few.
func addCompletion(root *cobra.Command, opts *rootOptions) {
	values := map[string][]string{
		"format":          {"table", "json"},
		"target":          images.TargetNames,
		"isolation":       fleet.Isolations,
		"egress":          {fleet.EgressAllowlist, fleet.EgressOpen},
		"permission-mode": fleet.PermissionModes,
		"progress":        {"auto", "tty", "plain", "rawjson", "quiet"},
	}
	states := make([]string, len(agentstate.States))
	for i, s := range agentstate.States {
		states[i] = string(s)
	}
	values["for"] = states
	var walk func(*cobra.Command)
	walk = func(cmd *cobra.Command) {
		if use := strings.Fields(cmd.Use); cmd.ValidArgsFunction == nil && slices.ContainsFunc(use, func(w string) bool { return strings.Contains(w, "AGENT") }) {
			cmd.ValidArgsFunction = completeAgents(opts, slices.Contains(use, "[AGENT...]"))
		}
		for name, vals := range values {
			if cmd.LocalFlags().Lookup(name) != nil {
				_ = cmd.RegisterFlagCompletionFunc(name, cobra.FixedCompletions(vals, cobra.ShellCompDirectiveNoFileComp))
			}
		}
		for _, c := range cmd.Commands() {
			walk(c)
		}
	}
	walk(root)
}

// completeAgents offers the fleet's agents: for the first argument only, or, for a
// command that takes several, each one not given yet.
func completeAgents(opts *rootOptions, several bool) cobra.CompletionFunc {
	return func(_ *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 && !several {
			return nil, cobra.ShellCompDirectiveDefault // the command after exec's or task's agent
		}
		f, err := opts.loadFleet()
		if err != nil {
			return nil, cobra.ShellCompDirectiveError | cobra.ShellCompDirectiveNoFileComp
		}
		var out []cobra.Completion
		for _, name := range f.AgentNames() {
			if strings.HasPrefix(name, toComplete) && !slices.Contains(args, name) {
				out = append(out, name)
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}
