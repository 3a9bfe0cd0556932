package main

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// layers are the module's packages lowest first, as the README's layout lists them: a
// package imports only packages of earlier layers.
var layers = [][]string{
	{"images/supervisor/agentstate", "images/supervisor/agentconfig", "images/supervisor/agentenv", "images/supervisor/modelusage", "images/supervisor/workqueue", "images/supervisor/agenttoken",
		"images/supervisor/gatewaypolicy", "images/supervisor/gitrelay", "images/supervisor/protocol"},
	{"images/supervisor"},
	{"images", "templates", "internal/atomicfile", "internal/termsafe", "internal/format", "internal/manifest",
		"internal/agentexec", "internal/buildkit", "internal/version", "internal/anthropictest",
		"internal/fileowner", "internal/cmdref"},
	{"internal/dashboard", "internal/auth", "internal/shellout"},
	{"internal/fleet"},
	{"internal/agentspec"},
	{"compose"},
	{"internal/deploy", "internal/k8s"},
	{"internal/workspace"},
	{"internal/fleetauth"},
	{"internal/fleetgateway"},
	{"internal/swarmstack"},
	{"internal/fleetstatus", "internal/fleetusage", "internal/fleetqueue"},
	{"internal/agentclone"},
	{"internal/sharedconfig"},
	{"internal/doctor"},
	{"plugin"},
}

func TestPackagesImportOnlyLowerLayers(t *testing.T) {
	const module = "github.com/docker-magents/docker-magents/"
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, module+"...").Output()
	if err != nil {
		t.Fatal(err)
	}
	layer := func(pkg string) int {
		return slices.IndexFunc(layers, func(l []string) bool { return slices.Contains(l, pkg) })
	}
	for line := range strings.Lines(string(out)) {
		fields := strings.Fields(line)
		pkg := strings.TrimPrefix(fields[0], module)
		if strings.HasPrefix(pkg, "e2e") || strings.HasPrefix(pkg, "bench") || strings.HasPrefix(pkg, "hack") {
			continue
		}
		at := layer(pkg)
		if at < 0 {
			t.Errorf("%s is not in the layout: add it to the README's layout and to layers here", pkg)
			continue
		}
		for _, imp := range fields[1:] {
			dep, ours := strings.CutPrefix(imp, module)
			if !ours {
				continue
			}
			if l := layer(dep); l < 0 || l >= at {
				t.Errorf("%s imports %s, which is not below it in the layout", pkg, dep)
			}
		}
	}
}
