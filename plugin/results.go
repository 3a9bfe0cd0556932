package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/internal/shellout"
	"github.com/docker-magents/docker-magents/internal/termsafe"
)

type resultsOptions struct {
	format string
}

func resultsCmd(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	var opts resultsOptions
	cmd := &cobra.Command{
		Use:   "results [OPTIONS] [AGENT...]",
		Short: "Print the final result of each headless agent's task",
		RunE: withArgs(func(ctx context.Context, args []string) error {
			return runResults(ctx, dockerCli, root, args, opts)
		}),
	}
	cmd.Flags().StringVar(&opts.format, "format", "table", `Output format: "table" or "json" (an array)`)
	return cmd
}

// AgentResult is one agent in `docker magents results --format json`.
type AgentResult struct {
	Agent    string `json:"agent"`
	Task     string `json:"task,omitempty"`
	ExitCode int    `json:"exitCode"`
	Result   string `json:"result"`
	IsError  bool   `json:"isError"`
	Done     bool   `json:"done"` // false while the task runs
}

func runResults(ctx context.Context, dockerCli command.Cli, root *rootOptions, agents []string, opts resultsOptions) error {
	if opts.format != "table" && opts.format != "json" {
		return fmt.Errorf(`invalid --format %q: use "table" or "json"`, opts.format)
	}
	f, err := root.loadFleet()
	if err != nil {
		return err
	}
	if len(agents) == 0 {
		agents = f.AgentNames()
	}
	docker := shellout.New(dockerCli)
	var out []AgentResult
	for _, a := range agents {
		container, err := agentContainer(root, a)
		if err != nil {
			return err
		}
		r := AgentResult{Agent: a}
		cmd := docker.Command(ctx, "exec", container, "magents-supervisor", "result")
		cmd.Stdout, cmd.Stderr = nil, nil
		if b, err := cmd.Output(); err == nil {
			if err := json.Unmarshal(b, &r); err != nil {
				// The agent can write its own result: a broken one is its error, not the command's.
				r = AgentResult{Agent: a, IsError: true, Result: "unreadable result (" + err.Error() + "): see docker magents logs " + a}
			}
			termsafe.Value(&r) // the agent wrote it
			r.Done = true
		}
		out = append(out, r)
	}
	if opts.format == "json" {
		enc := json.NewEncoder(dockerCli.Out())
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	for _, r := range out {
		switch {
		case !r.Done:
			fmt.Fprintf(dockerCli.Out(), "── %s: not finished\n", r.Agent)
		default:
			fmt.Fprintf(dockerCli.Out(), "── %s: exit %d\n%s\n", r.Agent, r.ExitCode, r.Result)
		}
	}
	return nil
}
