package deploy

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"

	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/docker-magents/docker-magents/compose"
	"github.com/docker-magents/docker-magents/images/supervisor/agentconfig"
	"github.com/docker-magents/docker-magents/images/supervisor/agentenv"
	"github.com/docker-magents/docker-magents/internal/agentspec"
	"github.com/docker-magents/docker-magents/internal/fleet"
	"github.com/docker-magents/docker-magents/internal/manifest"
)

// rendered is what a target gives agent-1: its environment (an equivalent counts: a
// variable the platform fills in, a task from a ConfigMap) and its limits, confinement
// and volumes, named as agentspec.Items names them; and the health command and HTTP
// paths its probes use.
type rendered struct {
	env    map[string]string
	health []string
}

// the items of agentspec.Items that are not environment variables, as a target writes them.
func (r rendered) limits(memoryBytes int64, cpus float64, pids int64) {
	r.env["limits.memory"] = strconv.FormatInt(memoryBytes, 10)
	if cpus > 0 {
		r.env["limits.cpus"] = strconv.FormatFloat(cpus, 'f', -1, 64)
	}
	if pids > 0 {
		r.env["limits.pids"] = strconv.FormatInt(pids, 10)
	}
}

func (r rendered) security(user string, capDrop []string, noNewPrivileges, readOnly bool) {
	if user == "" {
		user = fleet.DefaultUser // the image's own
	}
	r.env["security.user"] = user
	if slices.Contains(capDrop, "ALL") {
		r.env["security.cap-drop"] = "ALL"
	}
	if noNewPrivileges {
		r.env["security.no-new-privileges"] = "true"
	}
	if readOnly {
		r.env["security.read-only-rootfs"] = "true"
	}
}

func (r rendered) mounts(paths ...string) {
	for _, m := range agentspec.Mounts {
		if slices.Contains(paths, m.Path) {
			r.env["mount."+m.Name] = m.Path
		}
	}
}

// The contract: every item of the agent spec arrives in every target — the same
// variable with the same value, or an equivalent — unless agentspec.Exceptions lists it
// for that target, with its reason; and every target asks the supervisor's health.
// Adding an item to the spec without rendering it everywhere fails here.
func TestEveryTargetRendersTheAgentSpec(t *testing.T) {
	f := testFleet(2)
	f.Headless, f.AuthCheck, f.PermissionMode, f.AgentCmd = true, true, "acceptEdits", "claude --verbose"
	f.Tasks = []string{"Write the parser", "Test it"}
	f.Config = fleet.AgentConfig{GitUserName: "Team Bot", GitUserEmail: "bot@example.invalid", Generation: "2026-11-27T10:00:00Z"}
	f.ConfigSet = agentconfig.Set{agentconfig.ClaudeMD: "# Team\n"}
	f.Memory, f.CPUs, f.Pids, f.ReadOnlyRootfs, f.User = "3g", 1.5, 512, true, "1001:1002"
	all, err := agentspec.Items(f, 1, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, item := range []string{agentenv.AgentID, agentenv.Task, agentenv.Headless, agentenv.AuthCheck, agentenv.PermissionMode, agentenv.SharedConfig, agentenv.AgentCmd, "GIT_CONFIG_COUNT",
		"limits.memory", "limits.cpus", "limits.pids", "security.user", "security.cap-drop", "security.no-new-privileges", "security.read-only-rootfs", "mount.config", "mount.workspace"} {
		if _, ok := all[item]; !ok {
			t.Fatalf("the spec lacks %s: the test fleet does not set everything", item)
		}
	}
	renderers := map[string]func(t *testing.T) rendered{
		"compose": func(t *testing.T) rendered {
			p, err := compose.Project(f)
			if err != nil {
				t.Fatal(err)
			}
			s := p.Services["agent-1"]
			r := rendered{env: map[string]string{}, health: s.HealthCheck.Test[1:]}
			for k, v := range s.Environment {
				r.env[k] = *v
			}
			r.limits(int64(s.MemLimit), float64(s.CPUS), s.PidsLimit)
			r.security(s.User, s.CapDrop, slices.Contains(s.SecurityOpt, "no-new-privileges:true"), s.ReadOnly)
			var paths []string
			for _, v := range s.Volumes {
				paths = append(paths, v.Target)
			}
			r.mounts(paths...)
			return r
		},
		"swarm": func(t *testing.T) rendered {
			b, err := compose.Stack(f, nil, nil, []compose.StackConfig{{Key: "claude-md", Name: "magents-claude-md", File: "/home/dev/project/CLAUDE.md", Path: "CLAUDE.md"}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			var st struct {
				Services map[string]struct {
					Environment map[string]string
					Healthcheck struct{ Test []string }
					User        string
					CapDrop     []string `yaml:"cap_drop"`
					ReadOnly    bool     `yaml:"read_only"`
					Volumes     []struct{ Target string }
					Deploy      struct {
						Resources struct {
							Limits struct {
								Memory string
								CPUs   string `yaml:"cpus"`
								Pids   int64
							}
						}
					}
				}
			}
			if err := yaml.Unmarshal(b, &st); err != nil {
				t.Fatal(err)
			}
			s := st.Services["agent-1"]
			r := rendered{env: s.Environment, health: s.Healthcheck.Test[1:]}
			l := s.Deploy.Resources.Limits
			mem, _ := strconv.ParseInt(l.Memory, 10, 64)
			cpus, _ := strconv.ParseFloat(l.CPUs, 64)
			r.limits(mem, cpus, l.Pids)
			r.security(s.User, s.CapDrop, false, s.ReadOnly)
			var paths []string
			for _, v := range s.Volumes {
				paths = append(paths, v.Target)
			}
			r.mounts(paths...)
			return r
		},
		"kubernetes": func(t *testing.T) rendered {
			docs, err := K8s(f, testCred, K8sOptions{})
			if err != nil {
				t.Fatal(err)
			}
			r := rendered{env: map[string]string{}}
			var tasks map[string]string
			for _, d := range docs {
				switch o := object(t, d).(type) {
				case *corev1.ConfigMap:
					if strings.HasSuffix(o.Name, "-env") {
						maps.Copy(r.env, o.Data)
					}
					if strings.HasSuffix(o.Name, "-tasks") {
						tasks = o.Data
					}
				case *appsv1.StatefulSet:
					c := o.Spec.Template.Spec.Containers[0]
					for _, e := range c.Env {
						r.env[e.Name] = strings.ReplaceAll(e.Value, "$$", "$")
					}
					r.health = []string{c.LivenessProbe.HTTPGet.Path, c.ReadinessProbe.HTTPGet.Path}
					lim := c.Resources.Limits
					r.limits(lim.Memory().Value(), lim.Cpu().AsApproximateFloat64(), 0)
					pod, sc := o.Spec.Template.Spec.SecurityContext, c.SecurityContext
					r.security(fmt.Sprintf("%d:%d", *pod.RunAsUser, *pod.RunAsGroup), capNames(sc.Capabilities.Drop),
						sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation, sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem)
					var paths []string
					for _, m := range c.VolumeMounts {
						paths = append(paths, m.MountPath)
					}
					r.mounts(paths...)
				}
			}
			// The pod's ordinal is its AGENT_ID (pod 0 is agent 1), and its task is the file
			// of that name in the tasks ConfigMap.
			if _, ok := r.env[agentenv.AgentID]; ok {
				r.env[agentenv.AgentID] = "1"
			}
			if r.env[agentenv.TasksDir] != "" {
				r.env[agentenv.Task] = tasks["1"]
			}
			return r
		},
		"ecs": func(t *testing.T) rendered {
			docs, err := ECS(f, testECS)
			if err != nil {
				t.Fatal(err)
			}
			c := object(t, docs[0]).(*ecs.RegisterTaskDefinitionInput).ContainerDefinitions[0]
			r := rendered{env: map[string]string{}, health: c.HealthCheck.Command[1:]} // after "CMD"
			for _, kv := range c.Environment {
				r.env[*kv.Name] = *kv.Value
			}
			td := object(t, docs[0]).(*ecs.RegisterTaskDefinitionInput)
			mem, _ := strconv.ParseInt(*td.Memory, 10, 64)
			cpu, _ := strconv.ParseFloat(*td.Cpu, 64)
			r.limits(mem<<20, cpu/1024, 0)
			var drop []string
			if lp := c.LinuxParameters; lp != nil && lp.Capabilities != nil {
				drop = lp.Capabilities.Drop
			}
			r.security(*c.User, drop, false, *c.ReadonlyRootFilesystem)
			var paths []string
			for _, m := range c.MountPoints {
				paths = append(paths, *m.ContainerPath)
			}
			r.mounts(paths...)
			return r
		},
		"cloudrun": func(t *testing.T) rendered {
			docs, err := CloudRun(f, testCloudRun)
			if err != nil {
				t.Fatal(err)
			}
			var svc servingv1.Service
			if err := manifest.UnmarshalStrict(docs[0].Content, &svc); err != nil {
				t.Fatal(err)
			}
			c := svc.Spec.Template.Spec.Containers[0]
			r := rendered{env: map[string]string{}, health: []string{c.LivenessProbe.HTTPGet.Path}}
			for _, e := range c.Env {
				r.env[e.Name] = e.Value
			}
			r.limits(c.Resources.Limits.Memory().Value(), c.Resources.Limits.Cpu().AsApproximateFloat64(), 0)
			r.security("", nil, false, false) // no user set: the image's own
			return r
		},
	}
	if got := slices.Sorted(maps.Keys(renderers)); !slices.Equal(got, slices.Sorted(slices.Values(agentspec.Targets))) {
		t.Fatalf("the contract covers %v, the targets are %v", got, agentspec.Targets)
	}
	for _, target := range agentspec.Targets {
		t.Run(target, func(t *testing.T) {
			spec, err := agentspec.Items(f, 1, target != "compose")
			if err != nil {
				t.Fatal(err)
			}
			r := renderers[target](t)
			for k, want := range spec {
				why, excepted := agentspec.Exceptions[target][k]
				got, ok := r.env[k]
				switch {
				case excepted && why == "":
					t.Errorf("%s is excepted with no reason", k)
				case excepted:
				case !ok:
					t.Errorf("%s does not reach the agent (want %q)", k, want)
				case got != want:
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			health := strings.Join(r.health, " ")
			if health != strings.Join(agentspec.Health.Command, " ") && !strings.Contains(health, agentspec.Health.Live) {
				t.Errorf("its health check %q asks neither %v nor %s", health, agentspec.Health.Command, agentspec.Health.Live)
			}
		})
	}
}

func capNames(caps []corev1.Capability) []string {
	out := make([]string, len(caps))
	for i, c := range caps {
		out[i] = string(c)
	}
	return out
}
