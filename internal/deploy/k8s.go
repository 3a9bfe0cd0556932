package deploy

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/docker-magents/docker-magents/images/supervisor/agentconfig"
	"github.com/docker-magents/docker-magents/images/supervisor/agentenv"
	"github.com/docker-magents/docker-magents/images/supervisor/gatewaypolicy"
	"github.com/docker-magents/docker-magents/images/supervisor/modelusage"
	"github.com/docker-magents/docker-magents/internal/agentspec"
	"github.com/docker-magents/docker-magents/internal/auth"
	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/templates"
)

// K8sOptions are what a Kubernetes rendering needs beyond the fleet.
type K8sOptions struct {
	Templates string            // override directory (--templates)
	Env       map[string]string // the fleet's shared env file
	AuthInit  bool              // copy the credential into a memory volume with an init container
	// NoNetworkPolicy leaves out the agents' NetworkPolicy (no other pod, node or metadata
	// server reachable; nothing reaches them).
	NoNetworkPolicy bool
	Resources       Resources
	// Gateway, when set, is the fleet's gateway: a Deployment beside the agents.
	Gateway *K8sGateway
}

// K8sGateway is the fleet's gateway in a cluster: the work queue's dispatcher and, when
// the credential is one it relays (fleet.GatewayRelays), the model gateway — a Deployment
// of the supervisor in its proxy role, which alone mounts the fleet's key and then the
// credential. Agents reach it through its Service, each known by its token, which an init
// container copies from the gateway's Secret into the agent's pod.
type K8sGateway struct {
	Key    string            // the fleet's key, as its file holds it
	Tokens map[string]string // each agent's token, by agent
	Relays bool
}

// K8sGatewayName is the gateway's Deployment, Service and Secret.
func K8sGatewayName(project string) string { return project + "-gateway" }

// K8sGatewayPort is where agents reach the gateway; K8sMetricsPort serves its /metrics.
const (
	K8sGatewayPort = 3129
	K8sMetricsPort = 9090
)

type tokenEntry struct{ Agent, Token string }

// Resources are an agent's requests and limits; zero values take the defaults.
type Resources struct {
	MemoryRequest, MemoryLimit string // Kubernetes quantities: 2Gi
	CPURequest, CPULimit       string
	ConfigStorage              string
	WorkspaceStorage           string
}

// Document is one rendered file and the object it decodes to.
type Document struct {
	Name    string // file name: claude-auth-secret.yaml …
	Content []byte
	Secret  bool // holds a credential
}

type envVar struct{ Name, Value string }

type taskEntry struct{ Agent, Text string }

// K8s renders the fleet for Kubernetes: the credential Secret, a ConfigMap of the shared
// env, one of tasks when there are any, the headless Service and the StatefulSet — each
// checked against its k8s.io/api type's shape before it is returned.
func K8s(f *fleet.Fleet, c auth.Credential, o K8sOptions) ([]Document, error) {
	secret, err := AuthSecretK8s(o.Templates, f.Project, c)
	if err != nil {
		return nil, err
	}
	docs := []Document{{Name: "claude-auth-secret.yaml", Content: secret, Secret: true}}

	r, err := o.Resources.withDefaults(f)
	if err != nil {
		return nil, err
	}
	sec, err := agentspec.SecurityOf(f, true)
	if err != nil {
		return nil, err
	}
	// A request above its limit is refused by the API server: a small --memory or --cpus
	// lowers the request too.
	for _, pair := range []struct{ req, lim *string }{{&r.MemoryRequest, &r.MemoryLimit}, {&r.CPURequest, &r.CPULimit}} {
		req, err1 := resource.ParseQuantity(*pair.req)
		lim, err2 := resource.ParseQuantity(*pair.lim)
		if err1 == nil && err2 == nil && req.Cmp(lim) > 0 {
			*pair.req = *pair.lim
		}
	}
	for _, q := range []struct{ name, v string }{
		{"memory request", r.MemoryRequest}, {"memory limit", r.MemoryLimit}, {"CPU request", r.CPURequest},
		{"CPU limit", r.CPULimit}, {"config storage", r.ConfigStorage}, {"workspace storage", r.WorkspaceStorage},
	} {
		if _, err := resource.ParseQuantity(q.v); err != nil {
			return nil, fmt.Errorf("invalid %s %q: give a Kubernetes quantity such as 2Gi or 500m", q.name, q.v)
		}
	}
	data := map[string]any{
		"Project": f.Project, "Name": f.StatefulSetName(), "Image": f.Image, "Agents": f.Agents,
		"Var": c.Var, "SecretName": AuthSecretName(f.Project), "SecretFile": fleet.SecretFileName(c.Var),
		"AuthInit": o.AuthInit, "PermissionMode": f.PermissionMode, "Headless": f.Headless, "AuthCheck": f.AuthCheck,
		"UID": sec.UID, "GID": sec.GID,
		"MemoryRequest": r.MemoryRequest, "MemoryLimit": r.MemoryLimit, "CPURequest": r.CPURequest, "CPULimit": r.CPULimit,
		"ConfigStorage": r.ConfigStorage, "WorkspaceStorage": r.WorkspaceStorage,
		"Env": sortedEnv(k8sSharedEnv(f, o.Env)), "Tasks": tasks(f), "SharedConfig": sharedConfig(f), "Git": gitEnv(f),
		"Gateway": o.Gateway != nil, "GatewayRelays": o.Gateway != nil && o.Gateway.Relays,
		"GatewayName": K8sGatewayName(f.Project), "GatewayPort": K8sGatewayPort, "MetricsPort": K8sMetricsPort,
		"GatewayURL": fmt.Sprintf("http://%s:%d", K8sGatewayName(f.Project), K8sGatewayPort),
		"AgentNames": strings.Join(f.AgentNames(), ","), "Budgets": "", "GatewayAllow": gatewaypolicy.Allowed(f.GatewayAllow).String(),
	}
	if o.Gateway != nil {
		var toks []tokenEntry
		for _, name := range f.AgentNames() {
			tok, ok := o.Gateway.Tokens[name]
			if !ok {
				return nil, fmt.Errorf("no gateway token for %s (a bug in docker-magents)", name)
			}
			toks = append(toks, tokenEntry{name, tok})
		}
		data["Tokens"], data["GatewayKey"] = toks, o.Gateway.Key
		if o.Gateway.Relays && f.HasBudgets() {
			b, _ := json.Marshal(modelusage.Budgets{AgentUSD: f.BudgetUSD, FleetUSD: f.FleetBudgetUSD})
			data["Budgets"] = string(b)
		}
		if o.Gateway.Relays {
			// The credential is the gateway's alone: no agent copies it in.
			data["AuthInit"] = false
		}
	}
	render := func(name, tmpl, kind string, into any) error {
		b, err := templates.Render(o.Templates, "k8s/"+tmpl, data)
		if err != nil {
			return err
		}
		if err := checkYAML(kubernetesShapes(), kind, b, into); err != nil {
			return fmt.Errorf("%s is not a valid Kubernetes %s: %w", name, kind, err)
		}
		docs = append(docs, Document{Name: name, Content: b})
		return nil
	}
	if err := render("claude-env-configmap.yaml", "claude-env-configmap.yaml.tmpl", "ConfigMap", nil); err != nil {
		return nil, err
	}
	if len(f.Tasks) > 0 {
		if err := render("claude-tasks-configmap.yaml", "claude-tasks-configmap.yaml.tmpl", "ConfigMap", nil); err != nil {
			return nil, err
		}
	}
	if len(f.ConfigSet) > 0 {
		if err := render("claude-config-configmap.yaml", "claude-config-configmap.yaml.tmpl", "ConfigMap", nil); err != nil {
			return nil, err
		}
	}
	if !o.NoNetworkPolicy {
		if err := render("claude-agents-networkpolicy.yaml", "claude-agents-networkpolicy.yaml.tmpl", "NetworkPolicy", nil); err != nil {
			return nil, err
		}
	}
	if err := render("claude-agents-service.yaml", "claude-agents-service.yaml.tmpl", "Service", nil); err != nil {
		return nil, err
	}
	if o.Gateway != nil {
		// Its Secret is written 0600, as the credential's is.
		b, err := templates.Render(o.Templates, "k8s/claude-gateway-secret.yaml.tmpl", data)
		if err != nil {
			return nil, err
		}
		if err := checkYAML(kubernetesShapes(), "Secret", b, nil); err != nil {
			return nil, fmt.Errorf("claude-gateway-secret.yaml is not a valid Kubernetes Secret: %w", err)
		}
		docs = append(docs, Document{Name: "claude-gateway-secret.yaml", Content: b, Secret: true})
		for _, d := range []struct{ name, kind string }{
			{"claude-gateway-pvc.yaml", "PersistentVolumeClaim"}, {"claude-gateway-service.yaml", "Service"},
			{"claude-gateway-deployment.yaml", "Deployment"},
		} {
			if err := render(d.name, d.name+".tmpl", d.kind, nil); err != nil {
				return nil, err
			}
		}
		if !o.NoNetworkPolicy {
			if err := render("claude-gateway-networkpolicy.yaml", "claude-gateway-networkpolicy.yaml.tmpl", "NetworkPolicy", nil); err != nil {
				return nil, err
			}
		}
	}
	var sts statefulSet
	if err := render("claude-agents-statefulset.yaml", "claude-agents-statefulset.yaml.tmpl", "StatefulSet", &sts); err != nil {
		return nil, err
	}
	if err := checkStatefulSet(&sts, f); err != nil {
		return nil, err
	}
	return docs, nil
}

// statefulSet is what checkStatefulSet reads of the rendered StatefulSet.
type statefulSet struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name string `json:"name"`
	} `json:"metadata"`
	Spec struct {
		Replicas *int `json:"replicas"`
		Ordinals *struct {
			Start int `json:"start"`
		} `json:"ordinals"`
		Template struct {
			Spec struct {
				Containers []struct{} `json:"containers"`
			} `json:"spec"`
		} `json:"template"`
	} `json:"spec"`
}

// checkStatefulSet checks what the rest of docker-magents relies on, so an edited template
// that breaks it is refused with a reason.
func checkStatefulSet(sts *statefulSet, f *fleet.Fleet) error {
	switch {
	case sts.APIVersion != "apps/v1" || sts.Kind != "StatefulSet":
		return fmt.Errorf("the StatefulSet template renders %s %s, not apps/v1 StatefulSet", sts.APIVersion, sts.Kind)
	case sts.Metadata.Name != f.StatefulSetName():
		return fmt.Errorf("the StatefulSet is named %q: attach and the pod names need %q", sts.Metadata.Name, f.StatefulSetName())
	case sts.Spec.Replicas == nil || *sts.Spec.Replicas != f.Agents:
		return fmt.Errorf("the StatefulSet does not have %d replicas", f.Agents)
	case sts.Spec.Ordinals == nil || sts.Spec.Ordinals.Start != 1:
		return fmt.Errorf("the StatefulSet's ordinals must start at 1, so agents are numbered from 1")
	case len(sts.Spec.Template.Spec.Containers) == 0:
		return fmt.Errorf("the StatefulSet has no container")
	}
	return nil
}

func (r Resources) withDefaults(f *fleet.Fleet) (Resources, error) {
	def := func(v, d string) string {
		if v == "" {
			return d
		}
		return v
	}
	l, err := agentspec.LimitsOf(f)
	if err != nil {
		return r, err
	}
	limit := strconv.FormatInt(l.MemoryBytes>>20, 10) + "Mi"
	cpu := strconv.FormatFloat(l.CPUsOrDefault(), 'f', -1, 64)
	return Resources{
		MemoryRequest: def(r.MemoryRequest, "2Gi"), MemoryLimit: def(r.MemoryLimit, limit),
		CPURequest: def(r.CPURequest, "1"), CPULimit: def(r.CPULimit, cpu),
		ConfigStorage: def(r.ConfigStorage, "1Gi"), WorkspaceStorage: def(r.WorkspaceStorage, "10Gi"),
	}, nil
}

func sortedEnv(env map[string]string) []envVar {
	out := make([]envVar, 0, len(env))
	for _, k := range slices.Sorted(maps.Keys(env)) {
		out = append(out, envVar{k, env[k]})
	}
	return out
}

func tasks(f *fleet.Fleet) []taskEntry {
	var out []taskEntry
	for i := 1; i <= f.Agents; i++ {
		if t := f.TaskFor(i); t != "" {
			out = append(out, taskEntry{strconv.Itoa(i), t})
		}
	}
	return out
}

// sharedFile is one file of the shared agent config where a platform keeps files by a
// flat key: its key, its path under the config dir, its content.
type sharedFile struct{ Key, Path, Content string }

// sharedConfig is the fleet's shared agent config and its manifest, by flat key.
func sharedConfig(f *fleet.Fleet) []sharedFile {
	if len(f.ConfigSet) == 0 {
		return nil
	}
	var out []sharedFile
	for _, file := range f.ConfigSet.Delivered(f.Config.Generation) {
		out = append(out, sharedFile{Key: agentconfig.ObjectName(file.Name), Path: file.Name, Content: file.Content})
	}
	return out
}

// k8sSharedEnv is the ConfigMap every pod of the StatefulSet takes its environment from:
// the env file's settings and what agentspec gives every agent, less what the StatefulSet
// sets itself (the git identity, escaped for the kubelet; the shared config's variable,
// with its volume; AGENT_ID from the pod's ordinal and TASK from the tasks ConfigMap).
func k8sSharedEnv(f *fleet.Fleet, fileEnv map[string]string) map[string]string {
	env := maps.Clone(fileEnv)
	if env == nil {
		env = map[string]string{}
	}
	for k, v := range agentspec.Shared(f) {
		if !strings.HasPrefix(k, "GIT_CONFIG_") && k != agentenv.SharedConfig {
			env[k] = v
		}
	}
	return env
}

// gitEnv is the agents' git identity as environment variables (fleet.GitConfigEnv), as a
// container's env values: the kubelet expands $(VAR) in those, and reads $$ as $.
func gitEnv(f *fleet.Fleet) []envVar {
	env := sortedEnv(f.GitConfigEnv())
	for i := range env {
		env[i].Value = strings.ReplaceAll(env[i].Value, "$", "$$")
	}
	return env
}
