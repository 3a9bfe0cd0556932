package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// tiers are the module's packages in named tiers, lowest first, as the README's layout
// shows them: a package imports only packages of lower tiers, and of its own tier where
// the tier allows it (an adapter never imports another adapter).
type tier struct {
	name   string
	within bool // its packages may import each other
	pkgs   []string
}

var tiers = []tier{
	{"contract", false, []string{"images/supervisor/agentstate", "images/supervisor/agentconfig", "images/supervisor/agentenv", "images/supervisor/modelusage",
		"images/supervisor/workqueue", "images/supervisor/agenttoken", "images/supervisor/gatewaypolicy", "images/supervisor/gitrelay", "images/supervisor/protocol", "images/supervisor/lifecycle"}},
	{"parts", true, []string{"images/supervisor/logs", "images/supervisor/atomicfile", "images/supervisor/envvar", "images/supervisor/shellquote",
		"images/supervisor/gitcmd", "images/supervisor/httprelay", "images/supervisor/agentconn", "images/supervisor/credential"}},
	{"roles", false, []string{"images/supervisor/agent", "images/supervisor/egress", "images/supervisor/gateway", "images/supervisor/dispatch", "images/supervisor/gitcredential"}},
	{"supervisor", true, []string{"images/supervisor", "images/supervisor/proxy"}},
	{"leaves", true, []string{"images", "templates", "internal/atomicfile", "internal/termsafe", "internal/format", "internal/manifest",
		"internal/agentexec", "internal/buildkit", "internal/version", "internal/anthropictest", "internal/fileowner", "internal/cmdref",
		"internal/dashboard", "internal/auth", "internal/shellout", "internal/k8s", "internal/devcontainer"}},
	{"model", true, []string{"internal/fleet", "internal/agentspec"}},
	{"adapters", false, []string{"compose", "internal/deploy", "internal/workspace", "internal/swarmstack", "internal/agentimage"}},
	{"operations", true, []string{"internal/fleetauth", "internal/fleetgateway", "internal/fleetstatus", "internal/fleetusage", "internal/fleetqueue",
		"internal/agentclone", "internal/sharedconfig", "internal/doctor", "internal/fleetruntime", "internal/fleetops"}},
	{"runtimes", false, []string{"internal/fleetruntime/engine", "internal/fleetruntime/swarm", "internal/fleetruntime/kubernetes"}},
	{"cli", false, []string{"plugin"}},
}

func TestPackagesImportOnlyLowerTiers(t *testing.T) {
	const module = "github.com/docker-magents/docker-magents/"
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, module+"...").Output()
	if err != nil {
		t.Fatal(err)
	}
	tierOf := func(pkg string) int {
		return slices.IndexFunc(tiers, func(tr tier) bool { return slices.Contains(tr.pkgs, pkg) })
	}
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], module)
		if strings.HasPrefix(pkg, "e2e") || strings.HasPrefix(pkg, "bench") || strings.HasPrefix(pkg, "hack") {
			continue
		}
		at := tierOf(pkg)
		if at < 0 {
			t.Errorf("%s is in no tier: add it to the README's layout and to tiers here", pkg)
			continue
		}
		for _, imp := range fields[1:] {
			dep, ours := strings.CutPrefix(imp, module)
			if !ours {
				continue
			}
			switch l := tierOf(dep); {
			case l < 0:
				t.Errorf("%s imports %s, which is in no tier", pkg, dep)
			case l > at:
				t.Errorf("%s (%s) imports %s (%s), a higher tier", pkg, tiers[at].name, dep, tiers[l].name)
			case l == at && !tiers[at].within:
				t.Errorf("%s imports %s: one %s never imports another", pkg, dep, strings.TrimSuffix(tiers[at].name, "s"))
			}
		}
	}
}
