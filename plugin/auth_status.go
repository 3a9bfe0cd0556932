package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/docker/cli/cli"
	"github.com/docker/cli/cli/command"
	"github.com/spf13/cobra"

	"github.com/docker-magents/docker-magents/internal/auth"
	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/fleetauth"
	"github.com/docker-magents/docker-magents/internal/fleetstatus"
	"github.com/docker-magents/docker-magents/internal/format"
	"github.com/docker-magents/docker-magents/internal/shellout"
	"github.com/docker-magents/docker-magents/internal/termsafe"
)

type authStatusOptions struct {
	format string
}

func authStatusCmd(dockerCli command.Cli, root *rootOptions) *cobra.Command {
	var opts authStatusOptions
	cmd := &cobra.Command{
		Use:   "status [OPTIONS]",
		Short: "Say which credential is in effect and whether each running agent has it",
		Example: `  docker magents auth status
  docker magents auth status --format json`,
		Args: cli.NoArgs,
		RunE: withSignals(func(ctx context.Context) error {
			return runAuthStatus(ctx, dockerCli, root, opts)
		}),
	}
	cmd.Flags().StringVar(&opts.format, "format", "table", format.Usage)
	return cmd
}

// AuthStatus is `docker magents auth status --format json`. It holds no credential value.
type AuthStatus struct {
	Project string            `json:"Project"`
	Source  string            `json:"Source"` // flag, stored, environment, host login; empty: none
	Kind    string            `json:"Kind,omitempty"`
	Var     string            `json:"Var,omitempty"`
	Store   string            `json:"Store,omitempty"`
	Detail  string            `json:"Detail"`
	Agents  []AgentAuthStatus `json:"Agents"`
	// AgentsError says why the agents could not be asked (the engine is down, say).
	AgentsError string `json:"AgentsError,omitempty"`
}

// AgentAuthStatus says what a running agent would start Claude with.
type AgentAuthStatus struct {
	Agent   string `json:"Agent"`
	Method  string `json:"Method,omitempty"`
	Current bool   `json:"Current"`           // it has the credential in effect
	State   string `json:"State"`             // the supervisor's agent state (auth-rejected when refused)
	Refused string `json:"Refused,omitempty"` // when auth-rejected: what the API or Claude said
	Error   string `json:"Error,omitempty"`
}

func runAuthStatus(ctx context.Context, dockerCli command.Cli, root *rootOptions, opts authStatusOptions) error {
	fmtr, err := format.Parse(opts.format)
	if err != nil {
		return err
	}
	f, err := root.authProject()
	if err != nil {
		return err
	}
	st := AuthStatus{Project: f.Project, Agents: []AgentAuthStatus{}}
	eff, err := fleetauth.Effective(dockerCli, f, nil)
	switch {
	case errors.Is(err, auth.ErrNoCredential):
		st.Detail = err.Error()
	case err != nil:
		return err
	default:
		st.Source, st.Detail = eff.Source, eff.Describe()
		if eff.Credential != nil {
			st.Kind, st.Var = eff.Credential.Kind(), eff.Credential.Var
		}
		if eff.Source == auth.SourceStored {
			st.Store = eff.StoreName
		}
	}
	var want string
	if eff.Credential != nil {
		want = fingerprint(eff.Credential.Value)
	}
	// The credential's source is known without an engine; the agents are not.
	statuses, err := fleetstatus.List(ctx, dockerCli.Client(), f, fleetstatus.Options{Live: true})
	if err != nil {
		st.AgentsError = "cannot list the agents: " + firstLine(err.Error())
	}
	docker := shellout.New(dockerCli)
	// ask is what a container's supervisor would start Claude with (or, in the egress
	// proxy, relay): a fingerprint, never the value.
	ask := func(container string) (info struct{ Method, Var, Fingerprint, Error string }, err error) {
		cmd := docker.Command(ctx, "exec", container, "magents-supervisor", "auth")
		cmd.Stdout, cmd.Stderr = nil, nil
		out, err := cmd.Output()
		jerr := json.Unmarshal(out, &info)
		termsafe.Value(&info) // the container's supervisor wrote it
		if jerr == nil {
			err = nil
		}
		return info, err
	}
	// With the model gateway the agents hold their gateway token: they have the
	// credential in effect when the gateway does.
	var gateway string
	if f.ModelGateway() && len(statuses) > 0 {
		if info, err := ask(f.Project + "-" + fleet.EgressProxyService); err == nil {
			gateway = info.Fingerprint
		}
	}
	for _, s := range statuses {
		a := AgentAuthStatus{Agent: s.Agent, State: string(s.State), Refused: s.AuthError}
		if s.ContainerState != "running" {
			a.Error = "not running"
			st.Agents = append(st.Agents, a)
			continue
		}
		info, err := ask(s.Container)
		if err != nil {
			a.Error = "cannot ask the agent: " + err.Error()
		}
		a.Method, a.Error = info.Method, firstNonEmpty(a.Error, info.Error)
		a.Current = want != "" && info.Fingerprint == want
		if info.Method == "gateway" {
			a.Current = want != "" && gateway == want
		}
		st.Agents = append(st.Agents, a)
	}
	if !fmtr.IsTable() {
		return format.Value(dockerCli.Out(), fmtr, st, nil)
	}
	fmt.Fprintf(dockerCli.Out(), "Project:     %s\nCredential:  %s\n", st.Project, st.Detail)
	if st.AgentsError != "" {
		fmt.Fprintln(dockerCli.Out(), "  "+st.AgentsError)
	}
	for _, a := range st.Agents {
		line := fmt.Sprintf("%s: %s", a.Agent, orDash(a.Method))
		switch {
		case a.Error != "":
			line += " (" + a.Error + ")"
		case a.Current:
			line += ", has the credential in effect"
		case want != "":
			line += ", has another credential: run 'docker magents auth rotate'"
		}
		if a.State == "auth-rejected" {
			line += "; the model API REFUSED its credential: " + a.Refused
		}
		fmt.Fprintln(dockerCli.Out(), "  "+strings.TrimSpace(line))
	}
	return nil
}

// fingerprint matches the supervisor's: the first 12 hex digits of the value's SHA-256.
func fingerprint(value string) string {
	sum := sha256.Sum256([]byte(value))
	return "sha256:" + hex.EncodeToString(sum[:])[:12]
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
