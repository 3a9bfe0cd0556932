// Package deploy renders a fleet's pieces for targets beyond one machine — Kubernetes,
// Swarm, ECS — from templates/, and checks every rendered document against the shape of
// the target's own API types before anyone writes or applies it.
package deploy

import (
	"fmt"

	"github.com/docker-magents/docker-magents/internal/auth"
	"github.com/docker-magents/docker-magents/templates"
)

// AuthSecretName is the credential's name on every target, after the guide's claude-auth.
func AuthSecretName(project string) string { return "claude-auth-" + project }

// AuthSecretK8s is the guide's claude-auth-secret.yaml: a Kubernetes Secret.
func AuthSecretK8s(templateDir, project string, c auth.Credential) ([]byte, error) {
	b, err := templates.Render(templateDir, "k8s/claude-auth-secret.yaml.tmpl", map[string]string{
		"Name": AuthSecretName(project), "Project": project, "Var": c.Var, "Value": c.Value,
	})
	if err != nil {
		return nil, err
	}
	var s struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name string `json:"name"`
		} `json:"metadata"`
		StringData map[string]string `json:"stringData"`
	}
	if err := checkYAML(kubernetesShapes(), "Secret", b, &s); err != nil {
		return nil, fmt.Errorf("the rendered Secret is not a valid Kubernetes Secret: %w", err)
	}
	if s.APIVersion != "v1" || s.Kind != "Secret" || s.Metadata.Name == "" || s.StringData[c.Var] != c.Value {
		return nil, fmt.Errorf("the rendered Secret is not a v1 Secret named %s holding %s", AuthSecretName(project), c.Var)
	}
	return b, nil
}

// AuthSecretECS is what `aws secretsmanager create-secret --cli-input-json` takes, and the
// task definition's container `secrets` entry that references it (arn is the secret's
// ARN; until it exists, a placeholder the user replaces).
func AuthSecretECS(templateDir, project string, c auth.Credential, arn string) (createSecret, taskSecrets []byte, err error) {
	data := map[string]string{"Name": "docker-magents/" + AuthSecretName(project), "Project": project, "Var": c.Var, "Value": c.Value, "ARN": arn}
	if createSecret, err = templates.Render(templateDir, "ecs/create-secret.json.tmpl", data); err != nil {
		return nil, nil, err
	}
	var in struct{ Name, SecretString *string }
	if err := checkJSON(awsShapes(), "CreateSecretInput", createSecret, &in); err != nil {
		return nil, nil, fmt.Errorf("the rendered create-secret input is not a secretsmanager.CreateSecretInput: %w", err)
	}
	if in.Name == nil || in.SecretString == nil || *in.SecretString != c.Value {
		return nil, nil, fmt.Errorf("the rendered create-secret input lacks its name or value")
	}
	if taskSecrets, err = templates.Render(templateDir, "ecs/task-secrets.json.tmpl", data); err != nil {
		return nil, nil, err
	}
	var secrets []struct{ Name, ValueFrom *string }
	if err := checkJSON(awsShapes(), "Secrets", taskSecrets, &secrets); err != nil {
		return nil, nil, fmt.Errorf("the rendered task secrets are not ECS Secrets: %w", err)
	}
	if len(secrets) != 1 || secrets[0].Name == nil || *secrets[0].Name != c.Var || secrets[0].ValueFrom == nil {
		return nil, nil, fmt.Errorf("the rendered task secrets do not name %s", c.Var)
	}
	return createSecret, taskSecrets, nil
}
