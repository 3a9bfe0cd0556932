// Package fleetusage is what a fleet's model gateway counted and the limits it enforces,
// asked of the gateway (the egress proxy's container, or a stack's gateway: fleetgateway)
// through the engine: docker magents
// usage and budget read and change them here.
package fleetusage

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/docker-magents/docker-magents/images/supervisor/modelusage"
	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/fleetgateway"
)

// NoGateway says why fleet f has no gateway to ask.
func NoGateway(f *fleet.Fleet) error {
	if f.ModelGateway() {
		return nil
	}
	why := "its egress is open"
	if f.Egress == fleet.EgressAllowlist {
		why = "its credential is " + orNone(f.Credential) + ", which agents hold themselves"
	}
	return fmt.Errorf("project %s has no model gateway: %s. The gateway counts usage and enforces budgets for fleets with --egress allowlist and an API key or auth token (docker magents up --api-key-file FILE)", f.Project, why)
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// Report asks the gateway for its account.
func Report(ctx context.Context, gw fleetgateway.Gateway, f *fleet.Fleet) (*modelusage.Report, error) {
	return ask(ctx, gw, f, nil, "usage")
}

// SetBudgets gives the running gateway new limits (kept across its restarts until an up
// gives it others) and returns its account.
func SetBudgets(ctx context.Context, gw fleetgateway.Gateway, f *fleet.Fleet, b modelusage.Budgets) (*modelusage.Report, error) {
	in, err := json.Marshal(b)
	if err != nil {
		return nil, err
	}
	return ask(ctx, gw, f, in, "budget")
}

func ask(ctx context.Context, gw fleetgateway.Gateway, f *fleet.Fleet, stdin []byte, command string) (*modelusage.Report, error) {
	if !gw.Deployed() {
		if err := NoGateway(f); err != nil {
			return nil, err
		}
	}
	proxy := gw.Name
	var rep modelusage.Report
	if err := gw.JSON(ctx, stdin, &rep, command); err != nil {
		if gw.Deployed() {
			return nil, fmt.Errorf("asking the fleet's gateway %s (it counts usage for an API key or an auth token only): %v", proxy, err)
		}
		return nil, fmt.Errorf("asking the model gateway %s (is the fleet up? docker magents up): %v", proxy, err)
	}
	if rep.Agents == nil {
		rep.Agents = map[string]modelusage.AgentUsage{}
	}
	return &rep, nil
}
