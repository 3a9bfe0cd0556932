package deploy

import (
	"strings"
	"testing"

	"gotest.tools/v3/golden"
	corev1 "k8s.io/api/core/v1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"

	"github.com/docker-magents/docker-magents/internal/manifest"

	"github.com/docker-magents/docker-magents/images"
)

var testCloudRun = CloudRunOptions{
	Env:            map[string]string{"ANTHROPIC_BASE_URL": "https://gateway.example.com"},
	Var:            "CLAUDE_CODE_OAUTH_TOKEN",
	Secret:         "claude-auth-magents",
	Region:         "europe-west1",
	ServiceAccount: "magents-agents@my-project.iam.gserviceaccount.com",
}

// Each service decodes strictly into Knative serving v1's own Service type, and says what
// Cloud Run needs: the cloudrun image, port 8080, probes on the supervisor, 4Gi / 2 CPU, the
// credential from Secret Manager.
func TestCloudRunGolden(t *testing.T) {
	for _, n := range []int{1, 3} {
		f := testFleet(n)
		f.Image = images.Repository + ":cloudrun"
		if n == 3 {
			f.Headless, f.Tasks = true, []string{"Write the parser", "Test it", "Review it"}
		}
		docs, err := CloudRun(f, testCloudRun)
		if err != nil {
			t.Fatal(err)
		}
		var all []string
		for i, d := range docs {
			all = append(all, "# "+d.Name+"\n"+string(d.Content))
			var svc servingv1.Service
			if err := manifest.UnmarshalStrict(d.Content, &svc); err != nil {
				t.Fatalf("%s does not decode into servingv1.Service: %v", d.Name, err)
			}
			spec := svc.Spec.Template.Spec
			c := spec.Containers[0]
			mem, cpu := c.Resources.Limits[corev1.ResourceMemory], c.Resources.Limits[corev1.ResourceCPU]
			switch {
			case c.Image != f.Image || len(c.Ports) != 1 || c.Ports[0].ContainerPort != 8080:
				t.Errorf("%s: image %s ports %v", d.Name, c.Image, c.Ports)
			case c.StartupProbe == nil || c.StartupProbe.HTTPGet.Path != "/healthz" || c.LivenessProbe == nil:
				t.Errorf("%s: probes %+v %+v", d.Name, c.StartupProbe, c.LivenessProbe)
			case mem.String() != "4Gi" || cpu.String() != "2":
				t.Errorf("%s: limits %s / %s", d.Name, mem.String(), cpu.String())
			case svc.Spec.Template.Annotations["autoscaling.knative.dev/maxScale"] != "1":
				t.Errorf("%s: more than one instance", d.Name)
			}
			var fromSecret, id bool
			for _, e := range c.Env {
				fromSecret = fromSecret || (e.Name == testCloudRun.Var && e.ValueFrom != nil && e.ValueFrom.SecretKeyRef.Name == testCloudRun.Secret)
				id = id || (e.Name == "AGENT_ID" && e.Value == string(rune('1'+i)))
			}
			if !fromSecret || !id {
				t.Errorf("%s: credential from Secret Manager %v, AGENT_ID %v", d.Name, fromSecret, id)
			}
		}
		all = append(all, "# commands\n"+CloudRunCommands(f, testCloudRun))
		golden.Assert(t, strings.Join(all, "\n"), "cloudrun-"+string(rune('0'+n))+".txt")
	}
	if _, err := CloudRun(testFleet(1), CloudRunOptions{Var: "ANTHROPIC_API_KEY", Region: "x"}); err == nil || !strings.Contains(err.Error(), "--secret") {
		t.Errorf("no secret: %v", err)
	}
	if _, err := CloudRun(testFleet(1), CloudRunOptions{Var: "ANTHROPIC_API_KEY", Secret: "s", Region: "x"}); err == nil || !strings.Contains(err.Error(), "--service-account") {
		t.Errorf("no service account of its own: %v", err)
	}
	// An unknown field is refused by the strict decode the test relies on.
	if err := manifest.UnmarshalStrict([]byte("apiVersion: serving.knative.dev/v1\nkind: Service\nspec:\n  templat: {}\n"), &servingv1.Service{}); err == nil {
		t.Error("servingv1 accepted an unknown field: the check above proves nothing")
	}
}
