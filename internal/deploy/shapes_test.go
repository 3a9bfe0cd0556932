package deploy

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"gotest.tools/v3/golden"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"

	"github.com/docker-magents/docker-magents/internal/manifest"
)

// The embedded shapes are the API types' own: derived here from k8s.io/api and the AWS
// SDK, they must equal what the plugin carries.
func TestShapesAreTheAPITypes(t *testing.T) {
	for _, tc := range []struct {
		file     string
		embedded []byte
		shapes   *manifest.Shapes
	}{
		{"shapes/kubernetes.json", kubernetesShapesJSON, manifest.ShapesOf(false, map[string]any{
			"Secret": corev1.Secret{}, "ConfigMap": corev1.ConfigMap{}, "Service": corev1.Service{},
			"StatefulSet": appsv1.StatefulSet{}, "NetworkPolicy": networkingv1.NetworkPolicy{},
			"Deployment": appsv1.Deployment{}, "PersistentVolumeClaim": corev1.PersistentVolumeClaim{},
		})},
		{"shapes/cloudrun.json", cloudRunShapesJSON, manifest.ShapesOf(false, map[string]any{"Service": servingv1.Service{}})},
		{"shapes/aws.json", awsShapesJSON, manifest.ShapesOf(true, map[string]any{
			"RegisterTaskDefinitionInput": ecs.RegisterTaskDefinitionInput{},
			"CreateSecretInput":           secretsmanager.CreateSecretInput{},
			"Secrets":                     []ecstypes.Secret{},
		})},
	} {
		want, err := json.MarshalIndent(tc.shapes, "", "\t")
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, '\n')
		if golden.FlagUpdate() {
			if err := os.WriteFile(tc.file, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		var got manifest.Shapes
		if err := json.Unmarshal(tc.embedded, &got); err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if !reflect.DeepEqual(&got, tc.shapes) {
			t.Errorf("%s is not the shape of the API types the module has now: run go test ./internal/deploy -run TestShapesAreTheAPITypes -update", tc.file)
		}
	}
}

// object decodes a rendered document strictly into its API type, as the tests read it.
func object(t *testing.T, d Document) any {
	t.Helper()
	var head struct{ Kind string }
	if err := manifest.Unmarshal(d.Content, &head); err != nil {
		t.Fatalf("%s: %v", d.Name, err)
	}
	obj := map[string]any{
		"Secret": &corev1.Secret{}, "ConfigMap": &corev1.ConfigMap{}, "Service": &corev1.Service{},
		"StatefulSet": &appsv1.StatefulSet{}, "NetworkPolicy": &networkingv1.NetworkPolicy{},
		"Deployment": &appsv1.Deployment{}, "PersistentVolumeClaim": &corev1.PersistentVolumeClaim{},
	}[head.Kind]
	if strings.HasSuffix(d.Name, "task-definition.json") {
		obj = &ecs.RegisterTaskDefinitionInput{}
	}
	if obj == nil {
		t.Fatalf("%s: no API type for kind %q", d.Name, head.Kind)
	}
	if err := manifest.UnmarshalStrict(d.Content, obj); err != nil {
		t.Fatalf("%s does not decode strictly into %T: %v", d.Name, obj, err)
	}
	return obj
}

// An ECS or Cloud Run template override with a field its API type lacks, or a value of
// the wrong kind, is refused with the path of what is wrong.
func TestOverridesCheckedAgainstTheirShapes(t *testing.T) {
	for _, tc := range []struct {
		tmpl, from, to, want string
		render               func(dir string) error
	}{
		{"ecs/task-definition.json.tmpl", `"essential": true,`, `"essential": true, "privilegd": false,`,
			"containerDefinitions[0].privilegd: unknown field", func(dir string) error {
				o := testECS
				o.Templates = dir
				_, err := ECS(ecsFleet(1), o)
				return err
			}},
		{"ecs/task-definition.json.tmpl", `"essential": true,`, `"essential": "yes",`,
			`containerDefinitions[0].essential: true or false, not "yes"`, func(dir string) error {
				o := testECS
				o.Templates = dir
				_, err := ECS(ecsFleet(1), o)
				return err
			}},
		{"cloudrun/service.yaml.tmpl", "containers:", "containerz:",
			"spec.template.spec.containerz: unknown field", func(dir string) error {
				o := testCloudRun
				o.Templates = dir
				_, err := CloudRun(testFleet(1), o)
				return err
			}},
	} {
		dir := t.TempDir()
		src, err := os.ReadFile(filepath.Join("..", "..", "templates", tc.tmpl))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(src), tc.from) {
			t.Fatalf("%s has no %q", tc.tmpl, tc.from)
		}
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(tc.tmpl)), 0o755); err != nil {
			t.Fatal(err)
		}
		broken := strings.Replace(string(src), tc.from, tc.to, 1)
		if err := os.WriteFile(filepath.Join(dir, tc.tmpl), []byte(broken), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := tc.render(dir); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s with %s: err = %v, want %q", tc.tmpl, tc.to, err, tc.want)
		}
	}
}
