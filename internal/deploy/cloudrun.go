package deploy

import (
	"fmt"
	"maps"
	"strconv"
	"strings"

	"github.com/docker-magents/docker-magents/internal/agentspec"
	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/templates"
)

// CloudRunOptions are what a Cloud Run rendering needs beyond the fleet.
type CloudRunOptions struct {
	Templates      string
	Env            map[string]string
	Var            string // the credential's variable
	Secret         string // the Secret Manager secret holding it (its latest version is used)
	Region         string
	ServiceAccount string // the agents' own identity (an email), with no roles but reading Secret
}

// CloudRunName is agent's Cloud Run service.
func CloudRunName(project, agent string) string { return project + "-" + agent }

// CloudRun renders one Cloud Run service (Knative serving v1) per agent: the cloudrun
// image, the supervisor's health endpoint on 8080 as startup and liveness probe, one
// always-allocated instance, and the credential from Secret Manager.
func CloudRun(f *fleet.Fleet, o CloudRunOptions) ([]Document, error) {
	if o.Secret == "" || o.Var == "" {
		return nil, fmt.Errorf("a Cloud Run agent needs the Secret Manager secret of its credential: create it (gcloud secrets create), then give --secret")
	}
	if o.Region == "" {
		return nil, fmt.Errorf("a Cloud Run deployment needs --region")
	}
	if !strings.Contains(o.ServiceAccount, "@") {
		// Without one, Cloud Run runs the agents as the project's default compute account
		// (often an Editor), whose token the metadata server hands to whoever asks.
		return nil, fmt.Errorf("a Cloud Run agent needs a service account of its own, with no roles but reading its secret " +
			"(the default one would hand an agent its token through the metadata server): create it " +
			"(gcloud iam service-accounts create NAME), then give --service-account NAME@GCP_PROJECT.iam.gserviceaccount.com")
	}
	l, err := agentspec.LimitsOf(f)
	if err != nil {
		return nil, err
	}
	memory := strconv.FormatInt(l.MemoryBytes>>20, 10) + "Mi"
	cpu := strconv.FormatFloat(l.CPUsOrDefault(), 'f', -1, 64)
	var docs []Document
	for i, agent := range f.AgentNames() {
		env := map[string]string{}
		for k, v := range o.Env {
			env[k] = v
		}
		maps.Copy(env, agentEnv(f, i+1))
		data := map[string]any{
			"Project": f.Project, "Agent": agent, "Name": CloudRunName(f.Project, agent), "ID": strconv.Itoa(i + 1),
			"Image": f.Image, "Env": sortedEnv(env), "Var": o.Var, "Secret": o.Secret, "Region": o.Region,
			"ServiceAccount": o.ServiceAccount, "Memory": memory, "CPU": cpu,
		}
		b, err := templates.Render(o.Templates, "cloudrun/service.yaml.tmpl", data)
		if err != nil {
			return nil, err
		}
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := checkYAML(cloudRunShapes(), "Service", b, &head); err != nil {
			return nil, fmt.Errorf("%s's Cloud Run service is not a valid serving.knative.dev/v1 Service: %w", agent, err)
		}
		if head.APIVersion != "serving.knative.dev/v1" || head.Kind != "Service" || head.Metadata.Name == "" {
			return nil, fmt.Errorf("%s's Cloud Run service is %s %s, not a named serving.knative.dev/v1 Service", agent, head.APIVersion, head.Kind)
		}
		docs = append(docs, Document{Name: agent + "/service.yaml", Content: b})
	}
	return docs, nil
}

// CloudRunCommands are the gcloud commands that deploy the services.
func CloudRunCommands(f *fleet.Fleet, o CloudRunOptions) string {
	var b strings.Builder
	account, _, _ := strings.Cut(o.ServiceAccount, "@")
	fmt.Fprintf(&b, "# The agents' own identity: no roles, but reading their credential's secret.\n")
	fmt.Fprintf(&b, "gcloud iam service-accounts create %s --display-name %q\n", account, "docker magents agents of "+f.Project)
	fmt.Fprintf(&b, "gcloud secrets add-iam-policy-binding %s --member serviceAccount:%s --role roles/secretmanager.secretAccessor\n", o.Secret, o.ServiceAccount)
	for _, agent := range f.AgentNames() {
		fmt.Fprintf(&b, "gcloud run services replace %s/service.yaml --region %s\n", agent, o.Region)
	}
	return b.String()
}
