package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/internal/format"
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
		Example: `  docker magents results                   # every headless agent's result
  docker magents results agent-1 --format json`,
		RunE: withArgs(func(ctx context.Context, args []string) error {
			return runResults(ctx, dockerCli, root, args, opts)
		}),
	}
	cmd.Flags().StringVar(&opts.format, "format", "table", format.Usage)
	return cmd
}

// AgentResult is one agent in `docker magents results --format json`.
type AgentResult struct {
	Agent    string
	Task     string `json:"Task,omitempty"`
	ExitCode int
	Result   string
	IsError  bool
	Done     bool // false while the task runs
}

func runResults(ctx context.Context, dockerCli command.Cli, root *rootOptions, agents []string, opts resultsOptions) error {
	fmtr, err := format.Parse(opts.format)
	if err != nil {
		return err
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
	return format.Rows(dockerCli.Out(), fmtr, out, func(w io.Writer) error {
		for _, r := range out {
			switch {
			case !r.Done:
				fmt.Fprintf(w, "── %s: not finished\n", r.Agent)
			default:
				fmt.Fprintf(w, "── %s: exit %d\n%s\n", r.Agent, r.ExitCode, r.Result)
			}
		}
		return nil
	})
}
