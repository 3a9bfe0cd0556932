package deploy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gotest.tools/v3/golden"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/docker-magents/docker-magents/images/supervisor/agentconfig"
	"github.com/docker-magents/docker-magents/internal/auth"
	"github.com/docker-magents/docker-magents/internal/fleet"
)

func testFleet(n int) *fleet.Fleet {
	f := fleet.New("magents", "/home/dev/project/docker-compose.claude.yml")
	f.Agents = n
	return f
}

func TestK8sGolden(t *testing.T) {
	env := map[string]string{"ANTHROPIC_BASE_URL": "https://gateway.example.com", "LOG_LEVEL": "debug"}
	for name, tc := range map[string]struct {
		f    *fleet.Fleet
		opts K8sOptions
		cred auth.Credential // testCred when empty
	}{
		"k8s-1": {f: testFleet(1), opts: K8sOptions{Env: env}},
		"k8s-3": {f: func() *fleet.Fleet {
			f := testFleet(3)
			f.Tasks, f.PermissionMode, f.CPUs, f.Memory = []string{"Write the parser", "", "Review"}, "acceptEdits", 1.5, "6g"
			return f
		}(), opts: K8sOptions{Env: env, AuthInit: true}},
		// An API key, which the fleet's gateway relays: the agents hold their tokens alone.
		"k8s-gateway": {f: func() *fleet.Fleet {
			f := testFleet(2)
			f.BudgetUSD, f.GatewayAllow = 5, []string{"web_search"}
			return f
		}(), opts: K8sOptions{Env: env, Gateway: &K8sGateway{
			Key: "0123456789abcdef0123456789abcdef", Relays: true,
			Tokens: map[string]string{"agent-1": "magents-gw-one", "agent-2": "magents-gw-two"},
		}}, cred: auth.Credential{Var: "ANTHROPIC_API_KEY", Value: "sk-ant-api03-k8s-gateway-test"}},
	} {
		t.Run(name, func(t *testing.T) {
			cred := testCred
			if tc.cred.Var != "" {
				cred = tc.cred
			}
			docs, err := K8s(tc.f, cred, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			var all []string
			for _, d := range docs {
				all = append(all, "# "+d.Name+"\n"+string(d.Content))
			}
			golden.Assert(t, strings.Join(all, "---\n"), name+".yaml")
			sts := object(t, docs[len(docs)-1]).(*appsv1.StatefulSet)
			pod := sts.Spec.Template.Spec
			c := pod.Containers[0]
			switch {
			case *sts.Spec.Replicas != int32(tc.f.Agents), sts.Spec.Ordinals.Start != 1:
				t.Errorf("replicas/ordinals: %v %v", *sts.Spec.Replicas, sts.Spec.Ordinals)
			case pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot:
				t.Error("not runAsNonRoot")
			case c.SecurityContext.AllowPrivilegeEscalation == nil || *c.SecurityContext.AllowPrivilegeEscalation,
				len(c.SecurityContext.Capabilities.Drop) != 1 || c.SecurityContext.Capabilities.Drop[0] != "ALL":
				t.Error("privilege escalation allowed, or capabilities kept")
			case c.LivenessProbe.HTTPGet.Path != "/healthz" || c.ReadinessProbe.HTTPGet.Path != "/readyz":
				t.Error("probes do not ask the supervisor")
			case len(sts.Spec.VolumeClaimTemplates) != 2:
				t.Error("no claims for config and workspace")
			case (tc.opts.AuthInit || tc.opts.Gateway != nil) != (len(pod.InitContainers) == 1):
				t.Errorf("auth-init %v, gateway %v, init containers %d", tc.opts.AuthInit, tc.opts.Gateway != nil, len(pod.InitContainers))
			}
			for _, d := range docs {
				if !d.Secret && strings.Contains(string(d.Content), cred.Value) {
					t.Errorf("%s holds the credential", d.Name)
				}
			}
			if tc.opts.Gateway == nil {
				return
			}
			// The credential is the gateway's alone: no agent mounts it, or the gateway's
			// Secret (which holds every agent's token), only its own token.
			for _, v := range pod.Volumes {
				if v.Secret != nil && v.Secret.SecretName == AuthSecretName(tc.f.Project) {
					t.Errorf("agents have the credential's Secret as volume %s", v.Name)
				}
			}
			for _, m := range c.VolumeMounts {
				if m.Name == "gateway-tokens" || m.Name == "claude-auth" {
					t.Errorf("the agent mounts %s", m.Name)
				}
			}
			env := map[string]string{}
			for _, e := range c.Env {
				env[e.Name] = e.Value
			}
			if env["ANTHROPIC_BASE_URL"] != "http://magents-gateway:3129" || env["MAGENTS_GATEWAY_TOKEN_FILE"] != "/run/magents-token/token" || env["ANTHROPIC_API_KEY_FILE"] != "" {
				t.Errorf("agent env: %v", env)
			}
			var dep *appsv1.Deployment
			for _, d := range docs {
				if d.Name == "claude-gateway-deployment.yaml" {
					dep = object(t, d).(*appsv1.Deployment)
				}
				if d.Name == "claude-gateway-secret.yaml" && !d.Secret {
					t.Error("the gateway's Secret is not written as a secret")
				}
			}
			if dep == nil {
				t.Fatal("no gateway Deployment")
			}
			g := dep.Spec.Template.Spec.Containers[0]
			genv := map[string]string{}
			for _, e := range g.Env {
				genv[e.Name] = e.Value
			}
			if genv["ANTHROPIC_API_KEY_FILE"] == "" || genv["MAGENTS_AGENTS"] != "agent-1,agent-2" || genv["MAGENTS_GATEWAY_BUDGETS"] != `{"agent_usd":5}` || genv["MAGENTS_GATEWAY_ALLOW"] != "web_search" ||
				dep.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType || *dep.Spec.Template.Spec.AutomountServiceAccountToken {
				t.Errorf("gateway: env %v, strategy %s", genv, dep.Spec.Strategy.Type)
			}
		})
	}
}

// A template override that breaks what agents rely on is refused, naming why.
func TestK8sRefusesBrokenTemplates(t *testing.T) {
	for name, tc := range map[string]struct{ from, to, want string }{
		"unknown field": {"podManagementPolicy: Parallel", "podManagementPolicy: Parallel\n  replicaz: 3", "spec.replicaz: unknown field"},
		"ordinals":      {"start: 1", "start: 0", "ordinals must start at 1"},
		"template":      {"replicas: {{ .Agents }}", "replicas: {{ .Agentz }}", "Agentz"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			src, err := os.ReadFile(filepath.Join("..", "..", "templates", "k8s", "claude-agents-statefulset.yaml.tmpl"))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Join(dir, "k8s"), 0o755); err != nil {
				t.Fatal(err)
			}
			broken := strings.Replace(string(src), tc.from, tc.to, 1)
			if err := os.WriteFile(filepath.Join(dir, "k8s", "claude-agents-statefulset.yaml.tmpl"), []byte(broken), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := K8s(testFleet(2), testCred, K8sOptions{Templates: dir}); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
	small := testFleet(1)
	small.Memory, small.CPUs = "1g", 0.5
	docs, err := K8s(small, testCred, K8sOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res := object(t, docs[len(docs)-1]).(*appsv1.StatefulSet).Spec.Template.Spec.Containers[0].Resources
	if res.Requests.Memory().Cmp(*res.Limits.Memory()) > 0 || res.Requests.Cpu().Cmp(*res.Limits.Cpu()) > 0 {
		t.Errorf("requests above limits: %v / %v", res.Requests, res.Limits)
	}
	if _, err := K8s(testFleet(1), testCred, K8sOptions{Resources: Resources{CPULimit: "two"}}); err == nil || !strings.Contains(err.Error(), "CPU limit") {
		t.Errorf("a bad quantity: %v", err)
	}
}

// The shared agent config renders as a ConfigMap mounted where compose would deliver it,
// each file at its path (commands in their directories), with the manifest; the git
// identity is in the agents' env, escaped from the kubelet's $(VAR) expansion.
func TestK8sSharedConfig(t *testing.T) {
	f := testFleet(2)
	f.Config = fleet.AgentConfig{GitUserName: "Team $(AGENT_ID) Bot", GitUserEmail: "bot@example.invalid", Generation: "2026-11-27T10:00:00Z"}
	f.ConfigSet = agentconfig.Set{
		agentconfig.ClaudeMD:  "# Team\n\"quoted\" and $literal\n",
		agentconfig.MCP:       `{"mcpServers": {"docs": {"command": "docs-mcp"}}}`,
		"commands/go/test.md": "Run the tests.",
	}
	docs, err := K8s(f, testCred, K8sOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var cm *corev1.ConfigMap
	for _, d := range docs {
		if d.Name == "claude-config-configmap.yaml" {
			cm = object(t, d).(*corev1.ConfigMap)
		}
	}
	if cm == nil {
		t.Fatal("no config ConfigMap")
	}
	if cm.Data["claude-md"] != f.ConfigSet[agentconfig.ClaudeMD] {
		t.Errorf("CLAUDE.md in the ConfigMap: %q", cm.Data["claude-md"])
	}
	var m agentconfig.Manifest
	if err := json.Unmarshal([]byte(cm.Data["manifest-json"]), &m); err != nil || m.Generation != f.Config.Generation || len(m.Files) != 3 {
		t.Errorf("manifest: %+v %v", m, err)
	}
	pod := object(t, docs[len(docs)-1]).(*appsv1.StatefulSet).Spec.Template.Spec
	var items map[string]string
	for _, v := range pod.Volumes {
		if v.ConfigMap != nil && v.ConfigMap.Name == cm.Name {
			items = map[string]string{}
			for _, it := range v.ConfigMap.Items {
				items[it.Key] = it.Path
				if _, ok := cm.Data[it.Key]; !ok {
					t.Errorf("item %s is not in the ConfigMap", it.Key)
				}
			}
		}
	}
	if items[agentconfig.ObjectName("commands/go/test.md")] != "commands/go/test.md" || items["manifest-json"] != "manifest.json" {
		t.Errorf("items: %v", items)
	}
	env := map[string]string{}
	for _, e := range pod.Containers[0].Env {
		env[e.Name] = e.Value
	}
	mounted := false
	for _, vm := range pod.Containers[0].VolumeMounts {
		mounted = mounted || (vm.MountPath == fleet.ConfigDeliveredDir && vm.ReadOnly)
	}
	if env["MAGENTS_SHARED_CONFIG"] != "1" || env["GIT_CONFIG_KEY_0"] != "user.name" || env["GIT_CONFIG_VALUE_0"] != "Team $$(AGENT_ID) Bot" ||
		env["GIT_CONFIG_VALUE_1"] != "bot@example.invalid" || !mounted {
		t.Errorf("env %v, mounted %v", env, mounted)
	}
}

// The agents get the least privilege compose gives them, and more a cluster needs: no
// service account token, RuntimeDefault seccomp, a read-only root with emptyDirs, no
// privilege escalation, no capabilities; --auth-init leaves no credential on a retained
// volume; a NetworkPolicy unless left out.
func TestK8sLeastPrivilege(t *testing.T) {
	docs, err := K8s(testFleet(2), testCred, K8sOptions{AuthInit: true})
	if err != nil {
		t.Fatal(err)
	}
	var policy *networkingv1.NetworkPolicy
	for _, d := range docs {
		if p, ok := object(t, d).(*networkingv1.NetworkPolicy); ok {
			policy = p
		}
	}
	// In: the supervisor's health port alone (Prometheus scrapes its /metrics).
	if policy == nil || len(policy.Spec.PolicyTypes) != 2 || len(policy.Spec.Ingress) != 1 || len(policy.Spec.Ingress[0].Ports) != 1 ||
		policy.Spec.Ingress[0].Ports[0].Port.IntValue() != 8080 || *policy.Spec.Ingress[0].Ports[0].Protocol != corev1.ProtocolTCP {
		t.Errorf("network policy: %+v", policy)
	}
	set := object(t, docs[len(docs)-1]).(*appsv1.StatefulSet)
	if a := set.Spec.Template.Annotations; a["prometheus.io/scrape"] != "true" || a["prometheus.io/port"] != "8080" || a["prometheus.io/path"] != "/metrics" {
		t.Errorf("the pods' scrape annotations: %v", a)
	}
	pod := set.Spec.Template.Spec
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Error("the agents get a service account token")
	}
	if sp := pod.SecurityContext.SeccompProfile; sp == nil || sp.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("seccomp: %+v", sp)
	}
	for _, c := range append(pod.InitContainers, pod.Containers...) {
		sc := c.SecurityContext
		if sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
			sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" {
			t.Errorf("%s: security context %+v", c.Name, sc)
		}
		for _, m := range c.VolumeMounts {
			if m.Name == "config" && c.Name == "auth-init" {
				t.Error("auth-init writes the credential into the retained config volume")
			}
		}
	}
	memory := map[string]bool{}
	for _, v := range pod.Volumes {
		memory[v.Name] = v.EmptyDir != nil && v.EmptyDir.Medium == corev1.StorageMediumMemory
	}
	if !memory["auth"] {
		t.Error("the credential's copy is not on a memory volume")
	}
	docs, err = K8s(testFleet(1), testCred, K8sOptions{NoNetworkPolicy: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range docs {
		if _, ok := object(t, d).(*networkingv1.NetworkPolicy); ok {
			t.Error("a network policy after --network-policy=false")
		}
	}
}
