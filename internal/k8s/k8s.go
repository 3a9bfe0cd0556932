// Package k8s applies rendered manifests to a Kubernetes cluster with client-go (server-side
// apply), waits for the agents' pods, and execs into them — what kubectl would do, without
// needing kubectl.
package k8s

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/docker-magents/docker-magents/internal/manifest"
)

// FieldManager owns the fields docker-magents applies.
const FieldManager = "docker-magents"

// Client talks to the cluster of the current kubeconfig context (KUBECONFIG, or
// ~/.kube/config), or of the context named.
type Client struct {
	Namespace string
	Context   string // the kubeconfig context in use
	config    *rest.Config
	dynamic   dynamic.Interface
}

// resources are the kinds docker-magents applies (each rendered document decodes into
// one of their API types first, so no other kind reaches Apply), by their resource:
// known here rather than discovered, so the plugin carries no client for every API group.
var resources = map[schema.GroupVersionKind]schema.GroupVersionResource{
	{Version: "v1", Kind: "Secret"}:                                    {Version: "v1", Resource: "secrets"},
	{Version: "v1", Kind: "ConfigMap"}:                                 {Version: "v1", Resource: "configmaps"},
	{Version: "v1", Kind: "Service"}:                                   {Version: "v1", Resource: "services"},
	{Group: "apps", Version: "v1", Kind: "StatefulSet"}:                {Group: "apps", Version: "v1", Resource: "statefulsets"},
	{Group: "networking.k8s.io", Version: "v1", Kind: "NetworkPolicy"}: {Group: "networking.k8s.io", Version: "v1", Resource: "networkpolicies"},
	{Group: "apps", Version: "v1", Kind: "Deployment"}:                 {Group: "apps", Version: "v1", Resource: "deployments"},
	{Version: "v1", Kind: "PersistentVolumeClaim"}:                     {Version: "v1", Resource: "persistentvolumeclaims"},
}

var podsResource = schema.GroupVersionResource{Version: "v1", Resource: "pods"}

// Connect reads the kubeconfig. namespace empty means the context's (or "default").
func Connect(contextName, namespace string) (*Client, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: contextName})
	raw, err := cc.RawConfig()
	if err != nil {
		return nil, fmt.Errorf("reading the kubeconfig: %w", err)
	}
	cfg, err := cc.ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("no Kubernetes cluster configured (%v): set KUBECONFIG or give --context", err)
	}
	if namespace == "" {
		if namespace, _, err = cc.Namespace(); err != nil {
			return nil, err
		}
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	current := raw.CurrentContext
	if contextName != "" {
		current = contextName
	}
	return &Client{Namespace: namespace, Context: current, config: cfg, dynamic: dyn}, nil
}

// Apply server-side applies each YAML document, in order. With dryRun the server checks
// and defaults them and persists nothing.
func (c *Client) Apply(ctx context.Context, docs map[string][]byte, order []string, dryRun bool) error {
	for _, name := range order {
		obj, err := c.object(docs[name])
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		res, err := c.resource(obj)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		opts := metav1.ApplyOptions{FieldManager: FieldManager, Force: true}
		if dryRun {
			opts.DryRun = []string{metav1.DryRunAll}
		}
		if _, err := res.Apply(ctx, obj.GetName(), obj, opts); err != nil {
			return fmt.Errorf("applying %s (%s %s): %w", name, obj.GetKind(), obj.GetName(), err)
		}
	}
	return nil
}

// Delete deletes what the documents describe, in reverse order, but for claims: they
// stay, with the data on them (a gateway's queue), as those made from a StatefulSet's
// volumeClaimTemplates do.
func (c *Client) Delete(ctx context.Context, docs map[string][]byte, order []string) error {
	for _, name := range slices.Backward(order) {
		obj, err := c.object(docs[name])
		if err != nil {
			return err
		}
		if obj.GetKind() == "PersistentVolumeClaim" {
			continue
		}
		res, err := c.resource(obj)
		if err != nil {
			return err
		}
		if err := res.Delete(ctx, obj.GetName(), metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting %s %s: %w", obj.GetKind(), obj.GetName(), err)
		}
	}
	return nil
}

func (c *Client) object(doc []byte) (*unstructured.Unstructured, error) {
	m := map[string]any{}
	if err := manifest.Unmarshal(doc, &m); err != nil {
		return nil, err
	}
	return &unstructured.Unstructured{Object: m}, nil
}

func (c *Client) resource(obj *unstructured.Unstructured) (dynamic.ResourceInterface, error) {
	gvk := obj.GroupVersionKind()
	gvr, ok := resources[gvk]
	if !ok {
		return nil, fmt.Errorf("docker magents does not apply %s", gvk)
	}
	return c.dynamic.Resource(gvr).Namespace(c.Namespace), nil
}

// WaitReady waits until every pod named is Ready (its readiness probe passes), saying why
// when time runs out.
func (c *Client) WaitReady(ctx context.Context, pods []string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		var pending []string
		for _, name := range pods {
			pod, err := c.pod(ctx, name)
			if err != nil {
				pending = append(pending, name+": "+err.Error())
				continue
			}
			if !podReady(pod) {
				pending = append(pending, name+": "+podWhy(pod))
			}
		}
		if len(pending) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("not every agent is Ready after %s: %s", timeout, strings.Join(pending, "; "))
		case <-time.After(time.Second):
		}
	}
}

// ReadyPod waits until a pod of the namespace with the labels of selector
// (app.kubernetes.io/name=claude-gateway,…) is Ready and not being deleted, and names it.
func (c *Client) ReadyPod(ctx context.Context, selector string, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	why := "no pod yet"
	for {
		list, err := c.dynamic.Resource(podsResource).Namespace(c.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
		if err == nil {
			for _, u := range list.Items {
				var pod struct {
					Status podStatus `json:"status"`
				}
				if u.GetDeletionTimestamp() != nil || runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &pod) != nil {
					continue
				}
				if podReady(&pod.Status) {
					return u.GetName(), nil
				}
				why = u.GetName() + ": " + podWhy(&pod.Status)
			}
		} else if ctx.Err() == nil {
			why = err.Error()
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("no pod %s is Ready after %s (%s)", selector, timeout, why)
		case <-time.After(time.Second):
		}
	}
}

// Pod is what Pods reads of a pod.
type Pod struct {
	Name      string
	Phase     string // Pending, Running, Succeeded, Failed, Unknown
	Ready     bool
	Why       string    // when not Ready: a container's waiting reason, or a condition's message
	StartedAt time.Time // when its first container started (zero: none yet)
	Restarts  int       // its containers' restarts, together
	Deleting  bool
}

// Pods reads the pods of the namespace with the labels of selector, in name order.
func (c *Client) Pods(ctx context.Context, selector string) ([]Pod, error) {
	list, err := c.dynamic.Resource(podsResource).Namespace(c.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, fmt.Errorf("listing the pods %s in namespace %s: %w", selector, c.Namespace, err)
	}
	out := make([]Pod, 0, len(list.Items))
	for _, u := range list.Items {
		var pod struct {
			Status podStatus `json:"status"`
		}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &pod); err != nil {
			return nil, fmt.Errorf("reading pod %s: %w", u.GetName(), err)
		}
		p := Pod{Name: u.GetName(), Phase: pod.Status.Phase, Ready: podReady(&pod.Status), Deleting: u.GetDeletionTimestamp() != nil}
		if !p.Ready {
			p.Why = podWhy(&pod.Status)
		}
		for _, cs := range pod.Status.ContainerStatuses {
			p.Restarts += cs.RestartCount
			if r := cs.State.Running; r != nil && (p.StartedAt.IsZero() || r.StartedAt.Time.Before(p.StartedAt)) {
				p.StartedAt = r.StartedAt.Time
			}
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b Pod) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// pod reads a pod of the namespace: its phase, conditions and containers' waiting states.
func (c *Client) pod(ctx context.Context, name string) (*podStatus, error) {
	u, err := c.dynamic.Resource(podsResource).Namespace(c.Namespace).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	var pod struct {
		Status podStatus `json:"status"`
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &pod); err != nil {
		return nil, fmt.Errorf("reading pod %s: %w", name, err)
	}
	return &pod.Status, nil
}

// podStatus is what WaitReady reads of a pod's status (core/v1 PodStatus's fields).
type podStatus struct {
	Phase      string `json:"phase"`
	Conditions []struct {
		Type    string `json:"type"`
		Status  string `json:"status"`
		Message string `json:"message"`
	} `json:"conditions"`
	ContainerStatuses []struct {
		RestartCount int `json:"restartCount"`
		State        struct {
			Waiting *struct {
				Reason  string `json:"reason"`
				Message string `json:"message"`
			} `json:"waiting"`
			Running *struct {
				StartedAt metav1.Time `json:"startedAt"`
			} `json:"running"`
		} `json:"state"`
	} `json:"containerStatuses"`
}

func podReady(p *podStatus) bool {
	for _, c := range p.Conditions {
		if c.Type == "Ready" {
			return c.Status == "True"
		}
	}
	return false
}

func podWhy(p *podStatus) string {
	for _, s := range p.ContainerStatuses {
		if s.State.Waiting != nil {
			return s.State.Waiting.Reason + " " + s.State.Waiting.Message
		}
	}
	for _, c := range p.Conditions {
		if c.Status != "True" && c.Message != "" {
			return c.Type + ": " + c.Message
		}
	}
	return p.Phase
}
