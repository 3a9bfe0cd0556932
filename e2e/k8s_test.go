//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"gotest.tools/v3/icmd"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/docker-magents/docker-magents/images"
)

// deploy k8s on a real single-node cluster (hack/kubernetes.sh, started by
// hack/test-e2e.sh in the host engine's pass): a server-side dry run of every document,
// --auth-init included; --apply with client-go until both agents are Ready through the
// supervisor's probes; attach --k8s reaches Claude; a smaller deploy scales down; --delete
// keeps the claims. The cluster has no volume provisioner: the test makes hostPath
// PersistentVolumes for the claims.
func TestDeployKubernetes(t *testing.T) {
	everyEngine(t, "its cluster takes the images this engine built (the host pass starts it)")
	kubeconfig := os.Getenv("MAGENTS_E2E_KUBECONFIG")
	if kubeconfig == "" {
		if os.Getenv("DOCKER_HOST") != "" {
			t.Skip("the Kubernetes e2e runs once, in the host engine's pass (its cluster imports images from that engine)")
		}
		if os.Getenv("CI") == "true" || os.Getenv("MAGENTS_REQUIRE_TOOLS") == "1" {
			t.Fatal("no test cluster: MAGENTS_E2E_KUBECONFIG is not set (hack/test-e2e.sh starts one with hack/kubernetes.sh)")
		}
		t.Skip("no test cluster: run through hack/test-e2e.sh, which starts one with hack/kubernetes.sh")
	}
	parallelSuite(t)
	ensureImage(t, "latest")
	load := exec.Command("bash", "../hack/kubernetes.sh", "load", images.Repository+":latest")
	if out, err := load.CombinedOutput(); err != nil {
		t.Fatalf("loading the image into the cluster: %v\n%s", err, out)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	project, name := "k8se2e", "k8se2e-agent"
	e := newFleetEnv(t, "k8s")
	env := []string{"KUBECONFIG=" + kubeconfig, "ANTHROPIC_API_KEY=" + e.apiKey}
	mg := func(args ...string) *icmd.Result {
		return dockerIn(e.dir, env, append([]string{"magents", "-p", project}, args...)...)
	}
	pvRoot := filepath.Join(os.TempDir(), "magents-k8s-pv-"+fmt.Sprint(time.Now().UnixNano()))
	t.Cleanup(func() {
		if t.Failed() {
			pods, _ := kube.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
			for _, p := range pods.Items {
				t.Logf("pod %s: %s %+v", p.Name, p.Status.Phase, p.Status.ContainerStatuses)
			}
		}
		mg("deploy", "k8s", "--delete")
		for i := 1; i <= 2; i++ {
			for _, v := range []string{"config", "workspace"} {
				claim := fmt.Sprintf("%s-%s-%d", v, name, i)
				_ = kube.CoreV1().PersistentVolumeClaims("default").Delete(ctx, claim, metav1.DeleteOptions{})
				_ = kube.CoreV1().PersistentVolumes().Delete(ctx, "pv-"+claim, metav1.DeleteOptions{})
			}
		}
		_ = kube.CoreV1().PersistentVolumeClaims("default").Delete(ctx, project+"-gateway-state", metav1.DeleteOptions{})
		_ = kube.CoreV1().PersistentVolumes().Delete(ctx, "pv-"+project+"-gateway-state", metav1.DeleteOptions{})
		os.RemoveAll(pvRoot)
	})
	// A PersistentVolume for each claim the StatefulSet will make, writable by the agents,
	// and for the gateway's.
	claims := []string{project + "-gateway-state"}
	for i := 1; i <= 2; i++ {
		for _, v := range []string{"config", "workspace"} {
			claims = append(claims, fmt.Sprintf("%s-%s-%d", v, name, i))
		}
	}
	for _, claim := range claims {
		dir := filepath.Join(pvRoot, claim)
		if err := os.MkdirAll(dir, 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(dir, 0o777); err != nil {
			t.Fatal(err)
		}
		hostPathType := corev1.HostPathDirectory
		pv := &corev1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{Name: "pv-" + claim},
			Spec: corev1.PersistentVolumeSpec{
				Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")},
				AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
				StorageClassName:              "",
				ClaimRef:                      &corev1.ObjectReference{Namespace: "default", Name: claim},
				PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: dir, Type: &hostPathType}},
			},
		}
		if _, err := kube.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}

	// The cluster accepts every document, with and without the init container.
	mg("deploy", "k8s", "--agents", "2", "--dry-run").Assert(t, icmd.Expected{Err: "server-side dry run"})
	mg("deploy", "k8s", "--agents", "2", "--dry-run", "--auth-init").Assert(t, icmd.Expected{Err: "server-side dry run"})
	if _, err := kube.AppsV1().StatefulSets("default").Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("a dry run stored the StatefulSet: %v", err)
	}

	// The fleet up saved, with a shared CLAUDE.md: the agents get it from a ConfigMap.
	rule := "K8SRULE" + fmt.Sprint(time.Now().UnixNano())
	claudeMD := filepath.Join(t.TempDir(), "CLAUDE.md")
	if err := os.WriteFile(claudeMD, []byte(rule+": the team's rules.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mg("up", "--no-build", "--agents", "1", "--egress", "open", "--claude-md", claudeMD).Assert(t, icmd.Success)
	mg("down").Assert(t, icmd.Success)

	// Two agents at the default request of a CPU each, and the gateway, do not fit this
	// two-core node: half a CPU each.
	mg("deploy", "k8s", "--apply", "--agents", "2", "--auth-init", "--cpu-request", "500m", "--timeout", "4m").Assert(t, icmd.Expected{Err: "2 agent(s) Ready"})
	checkClusterGateway(t, ctx, kube, mg, project, e.apiKey)
	// Each agent's supervisor placed it in its config volume (a host path here).
	for i := 1; i <= 2; i++ {
		placed := readFile(filepath.Join(pvRoot, fmt.Sprintf("config-%s-%d", name, i), "CLAUDE.md"))
		if !strings.Contains(placed, rule) {
			t.Errorf("agent %d's config volume has CLAUDE.md %q", i, placed)
		}
		// --auth-init copies the credential into a memory volume of the pod: none on the
		// retained claim.
		if _, err := os.Stat(filepath.Join(pvRoot, fmt.Sprintf("config-%s-%d", name, i), ".magents-credential")); err == nil {
			t.Errorf("agent %d's retained config volume holds the credential", i)
		}
	}
	for i := 1; i <= 2; i++ {
		pod, err := kube.CoreV1().Pods("default").Get(ctx, fmt.Sprintf("%s-%d", name, i), metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if id := podEnvFromIndex(pod); id != fmt.Sprint(i) {
			t.Errorf("pod %s: AGENT_ID from pod index %q", pod.Name, id)
		}
	}

	cmd := exec.Command("docker", "magents", "-p", project, "attach", "--k8s", "agent-1")
	cmd.Dir, cmd.Env = e.dir, append(os.Environ(), env...)
	tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 150})
	if err != nil {
		t.Fatal(err)
	}
	screen := &syncBuffer{}
	go func() { _, _ = io.Copy(screen, tty) }()
	waitOutput(t, screen, "Claude Code v"+claudeVersion, 60*time.Second)
	_, _ = tty.Write([]byte{0x02, 'd'})
	_ = cmd.Wait()
	tty.Close()

	// The cluster's fleet in the dashboard: each agent's pod with its supervisor's state
	// (through the cluster's exec), the gateway's queue, and an agent's terminal.
	dash := startDashboard(t, e.dir, env, project, "--k8s")
	rep := dash.waitFleet(t, time.Minute, func(r dashboardReport) bool {
		idle := 0
		for _, a := range r.Report.Agents {
			if a.State == "idle" {
				idle++
			}
		}
		return idle == 2 && len(r.Report.Queue) == 1 && r.Report.Queue[0].State == "cancelled"
	}, func() string {
		pods, err := kube.CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
		if err != nil {
			return err.Error()
		}
		var b strings.Builder
		for _, p := range pods.Items {
			fmt.Fprintf(&b, "%s: %s %v\n", p.Name, p.Status.Phase, p.Status.Conditions)
		}
		return b.String()
	})
	if rep.Report.Where != "kubernetes" || !rep.Report.HasQueue || rep.Report.Branches || rep.Error != "" {
		t.Errorf("the cluster's dashboard: %+v", rep)
	}
	dash.terminal(t, "agent-1", "", "❯", time.Minute) // Claude's prompt
	// ps and wait read the cluster's pods as the dashboard does.
	mg("wait", "--k8s", "--for", "idle", "--timeout", "60s").Assert(t, icmd.Expected{Out: "agent-2	idle"})
	if ps := mg("ps", "--k8s", "--format", "{{.Agent}}={{.State}}").Stdout(); ps != "agent-1=idle\nagent-2=idle\n" {
		t.Errorf("ps --k8s:\n%s", ps)
	}
	// logs reads the agent's pod and its session, as for compose.
	if out := mg("logs", "--k8s", "agent-2").Stdout(); !strings.Contains(out, "session claude started") || !strings.Contains(out, "── agent-2: session claude") || !strings.Contains(out, "Claude Code") {
		t.Errorf("logs --k8s:\n%s", out)
	}
	mg("logs", "--k8s", "agent-9").Assert(t, icmd.Expected{ExitCode: 1, Err: "not found"})

	mg("deploy", "k8s", "--apply", "--agents", "1", "--auth-init", "--cpu-request", "500m").Assert(t, icmd.Expected{Err: "1 agent(s) Ready"})
	waitFor(t, 60*time.Second, "only "+name+"-1 to be left after scaling to 1", func() (bool, string) {
		pods, err := kube.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=claude-agent,app.kubernetes.io/instance=" + project})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, p := range pods.Items {
			names = append(names, p.Name)
		}
		return slices.Equal(names, []string{name + "-1"}), fmt.Sprintf("pods: %v", names)
	})

	mg("deploy", "k8s", "--delete").Assert(t, icmd.Expected{Err: "their volume claims stay"})
	left, err := kube.CoreV1().PersistentVolumeClaims("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var kept []string
	for _, c := range left.Items {
		kept = append(kept, c.Name)
	}
	for _, want := range []string{"config-" + name + "-1", "workspace-" + name + "-2", project + "-gateway-state"} {
		if !slices.Contains(kept, want) {
			t.Errorf("claim %s is gone after delete: %v", want, kept)
		}
	}
	if _, err := kube.AppsV1().StatefulSets("default").Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the StatefulSet is still there: %v", err)
	}
}

// checkClusterGateway checks the fleet's gateway deploy k8s applied with an API key: it
// alone mounts the credential, each agent its own token (not the Secret of all of them),
// the work queue and the account answer through the cluster's exec (queue --k8s, usage
// --k8s), and /metrics on its metrics port parses as Prometheus' text format. (This test
// cluster has no DNS or Service proxy, so its agents do not reach the gateway by name: the
// compose and Swarm tests run agents through the same gateway code.)
func checkClusterGateway(t *testing.T, ctx context.Context, kube *kubernetes.Clientset, mg func(...string) *icmd.Result, project, apiKey string) {
	t.Helper()
	pods, err := kube.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=claude-gateway,app.kubernetes.io/instance=" + project})
	if err != nil || len(pods.Items) != 1 {
		t.Fatalf("gateway pods: %v %v", pods, err)
	}
	gw := pods.Items[0]
	mounts := func(spec corev1.PodSpec) (secrets []string) {
		for _, v := range spec.Volumes {
			if v.Secret != nil {
				secrets = append(secrets, v.Secret.SecretName)
			}
		}
		return secrets
	}
	if got := mounts(gw.Spec); !slices.Contains(got, "claude-auth-"+project) {
		t.Errorf("the gateway does not mount the credential: %v", got)
	}
	agent, err := kube.CoreV1().Pods("default").Get(ctx, project+"-agent-1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range agent.Spec.Containers {
		for _, m := range c.VolumeMounts {
			if m.Name == "claude-auth" || m.Name == "gateway-tokens" {
				t.Errorf("the agent container mounts %s", m.Name)
			}
		}
		for _, e := range c.Env {
			if strings.Contains(e.Value, apiKey) || e.Name == "ANTHROPIC_API_KEY_FILE" {
				t.Errorf("the agent has %s", e.Name)
			}
		}
	}
	mg("queue", "add", "--k8s", "Queued in the cluster").Assert(t, icmd.Expected{Out: "task-1 queued"})
	if ls := mg("queue", "ls", "--k8s", "--format", "{{.ID}} {{.State}}"); !strings.Contains(ls.Stdout(), "task-1 ") {
		t.Errorf("queue ls --k8s: %s", ls.Combined())
	}
	mg("queue", "cancel", "--k8s", "task-1").Assert(t, icmd.Expected{Out: "task-1"})
	mg("usage", "--k8s", "--total", "--format", "{{.Requests}}").Assert(t, icmd.Success)
	resp, err := http.Get("http://" + gw.Status.PodIP + ":9090/metrics")
	if err != nil {
		t.Fatalf("the gateway's /metrics: %v", err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.LegacyValidation)
	if _, err := parser.TextToMetricFamilies(resp.Body); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("the gateway's /metrics does not parse: %s %v", resp.Status, err)
	}
}

// podEnvFromIndex is the value AGENT_ID gets in pod: its pod-index label.
func podEnvFromIndex(pod *corev1.Pod) string {
	for _, e := range pod.Spec.Containers[0].Env {
		if e.Name == "AGENT_ID" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil {
			key := strings.TrimSuffix(strings.TrimPrefix(e.ValueFrom.FieldRef.FieldPath, "metadata.labels['"), "']")
			return pod.Labels[key]
		}
	}
	return ""
}
