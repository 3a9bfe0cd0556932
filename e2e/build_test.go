//go:build e2e

package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"gotest.tools/v3/icmd"

	"github.com/docker-magents/docker-magents/images"
)

const claudeVersion = "2.1.332"

func TestPluginIsListedAndAnswers(t *testing.T) {
	everyEngine(t, "the plugin negotiates this engine's API version")
	docker("--help").Assert(t, icmd.Expected{Out: "magents*"})
	docker("magents", "--help").Assert(t, icmd.Expected{Out: "build"})
	res := docker("magents", "version")
	res.Assert(t, icmd.Success)
	for _, want := range []string{"docker-magents:", "Engine:", "API ", "Image store:"} {
		if !strings.Contains(res.Stdout(), want) {
			t.Errorf("docker magents version lacks %q:\n%s", want, res.Stdout())
		}
	}
	docker("magents", "nonsense").Assert(t, icmd.Expected{ExitCode: 1, Err: "unknown command"})
	docker("magents", "build", "--progress", "fancy").Assert(t, icmd.Expected{ExitCode: 1, Err: "invalid --progress"})
	docker("magents", "build", "--target", "nightly").Assert(t, icmd.Expected{ExitCode: 1, Err: "latest, dev, cloudrun"})
}

// Every engine call goes through the docker CLI's own client, so --context and DOCKER_HOST
// choose the engine as they do for any docker command.
func TestContextAndDockerHostAreHonoured(t *testing.T) {
	everyEngine(t, "contexts and DOCKER_HOST reach this engine")
	host := strings.TrimSpace(docker("context", "inspect", "-f", "{{.Endpoints.docker.Host}}").Stdout())
	if host == "" {
		t.Fatal("cannot read the current context's engine address")
	}
	name := fmt.Sprintf("magents-e2e-%d", time.Now().UnixNano())
	docker("context", "create", name, "--docker", "host="+host).Assert(t, icmd.Success)
	t.Cleanup(func() { docker("context", "rm", "-f", name) })
	docker("--context", name, "magents", "version").Assert(t, icmd.Expected{Out: "Image store:"})

	bad := "unix:///nonexistent/docker.sock"
	res := dockerIn("", []string{"DOCKER_HOST=" + bad}, "magents", "build", "--progress", "quiet")
	res.Assert(t, icmd.Expected{ExitCode: 1, Err: "/nonexistent/docker.sock"})
	dockerIn("", []string{"DOCKER_HOST=" + bad}, "magents", "version").Assert(t, icmd.Expected{Out: "not reachable"})
}

// Every target builds through the engine's embedded BuildKit, and the pinned Claude Code
// runs in each.
func TestBuildEachTarget(t *testing.T) {
	everyEngine(t, "builds run on the engine's own BuildKit")
	for _, target := range images.TargetNames {
		t.Run(target, func(t *testing.T) {
			ensureImage(t, target)
			img := images.Repository + ":" + target
			docker("run", "--rm", img, "claude", "--version").Assert(t, icmd.Expected{Out: claudeVersion + " (Claude Code)"})
			// A numeric non-root user, so Kubernetes' runAsNonRoot can check it.
			docker("inspect", "-f", "{{.Config.User}}", img).Assert(t, icmd.Expected{Out: "1000:1000"})
			docker("run", "--rm", img, "id", "-u").Assert(t, icmd.Expected{Out: "1000"})
			if caCert != "" {
				// --ca-cert: the bundle is in the image's trust store, which SSL_CERT_FILE names.
				docker("run", "--rm", img, "sh", "-c", `test -s /usr/local/share/ca-certificates/magents-extra.crt && grep -q "$(sed -n 2p /usr/local/share/ca-certificates/magents-extra.crt)" "$SSL_CERT_FILE"`).
					Assert(t, icmd.Success)
			}
			size := docker("inspect", "-f", "{{.Size}}", img).Stdout()
			t.Logf("%s: %s bytes", img, strings.TrimSpace(size))
		})
	}
	// The runtime has no Node.js; dev has it (for npx MCP servers); cloudrun serves health on 8080.
	docker("run", "--rm", images.Repository+":latest", "sh", "-c", "command -v node || exit 3").Assert(t, icmd.Expected{ExitCode: 3})
	docker("run", "--rm", images.Repository+":dev", "sh", "-c", "node --version && npm --version && jq --version && python3 --version").Assert(t, icmd.Success)
	docker("inspect", "-f", "{{json .Config.ExposedPorts}}", images.Repository+":cloudrun").Assert(t, icmd.Expected{Out: "8080/tcp"})
}

// The budget is on the uncompressed image: what the files take in a container's root
// filesystem. (docker image inspect's Size is that on graph drivers, but the compressed
// content size on the containerd image store.)
func TestLatestFitsItsBudget(t *testing.T) {
	everyEngine(t, "the image's size as this engine's image store counts it")
	ensureImage(t, "latest")
	img := images.Repository + ":latest"
	// As root only to read every directory; the image itself never runs as root.
	res := docker("run", "--rm", "--user", "0", "--entrypoint", "du", img, "-sxb", "/")
	res.Assert(t, icmd.Success)
	var size int64
	if _, err := fmt.Sscan(res.Stdout(), &size); err != nil {
		t.Fatalf("du: %v %q", err, res.Stdout())
	}
	reported := strings.TrimSpace(docker("inspect", "-f", "{{.Size}}", img).Stdout())
	t.Logf("%s: %d MB uncompressed (the engine reports Size %s bytes)", img, size/1_000_000, reported)
	if size > 600_000_000 {
		t.Errorf("latest is %d MB uncompressed, over its 600 MB budget", size/1_000_000)
	}
}

// A rebuild with nothing changed is answered entirely from the cache: every RUN, COPY and
// WORKDIR step is CACHED. Neither engine's BuildKit marks a FROM of an image already in the
// store as cached: BuildKit 0.8 (Engine 20.10) reports it done in no time, BuildKit 0.13 on
// the containerd image store reports a local "resolve" of its digest. So a FROM passes when
// it is cached, or completed having transferred nothing.
func TestWarmRebuildIsFullyCached(t *testing.T) {
	everyEngine(t, "the engine's BuildKit cache")
	ensureImage(t, "latest")
	res := docker(append([]string{"magents", "build", "--progress", "rawjson"}, caFlags()...)...)
	res.Assert(t, icmd.Success)
	steps := dockerfileSteps(t, res.Stderr())
	if len(steps) < 8 {
		t.Fatalf("only %d Dockerfile steps in the rawjson progress:\n%s", len(steps), tail(res.Stderr(), 20))
	}
	for _, st := range steps {
		switch {
		case st.cached:
		case strings.Contains(st.name, "] FROM ") && st.completed && st.transfers == 0:
			t.Logf("%s: taken from the image store, nothing transferred", st.name)
		default:
			t.Errorf("not cached on a no-op rebuild: %s (completed %v, %d transfers)", st.name, st.completed, st.transfers)
		}
	}
}

var stepName = regexp.MustCompile(`^\[[a-z-]+ +\d+/\d+\] (FROM|RUN|COPY|ADD|WORKDIR)\b`)

type step struct {
	name      string
	cached    bool
	completed bool
	transfers int // status updates that moved bytes or fetched something (not a local resolve)
}

// dockerfileSteps reads `--progress rawjson` (one client.SolveStatus per line) and reports
// what BuildKit said of each FROM/RUN/COPY step.
func dockerfileSteps(t *testing.T, rawjson string) map[string]*step {
	t.Helper()
	steps := map[string]*step{}
	sc := bufio.NewScanner(strings.NewReader(rawjson))
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		var st struct {
			Vertexes []struct {
				Digest    string  `json:"digest"`
				Name      string  `json:"name"`
				Cached    bool    `json:"cached"`
				Completed *string `json:"completed"`
			} `json:"vertexes"`
			Statuses []struct {
				ID      string `json:"id"`
				Vertex  string `json:"vertex"`
				Current int64  `json:"current"`
			} `json:"statuses"`
		}
		if err := json.Unmarshal(sc.Bytes(), &st); err != nil {
			continue
		}
		for _, v := range st.Vertexes {
			if !stepName.MatchString(v.Name) {
				continue
			}
			s := steps[v.Digest]
			if s == nil {
				s = &step{name: v.Name}
				steps[v.Digest] = s
			}
			s.cached = s.cached || v.Cached
			s.completed = s.completed || v.Completed != nil
		}
		for _, p := range st.Statuses {
			if s := steps[p.Vertex]; s != nil && (p.Current > 0 || !strings.HasPrefix(p.ID, "resolve ")) {
				s.transfers++
			}
		}
	}
	return steps
}

// A failing step is named, with its place in the Dockerfile, and nothing is tagged.
func TestBuildErrorNamesTheFailingStep(t *testing.T) {
	everyEngine(t, "the failing step as the engine's BuildKit reports it")
	ensureImage(t, "latest")
	tag := "magents-e2e/broken:latest"
	res := docker(append([]string{"magents", "build", "--progress", "plain", "--tag", tag,
		"--build-arg", "CLAUDE_CODE_VERSION=0.0.0-does-not-exist"}, caFlags()...)...)
	if res.ExitCode == 0 {
		t.Fatal("a build of a Claude Code version that does not exist succeeded")
	}
	// The last lines, after the progress display, name the step and the cause.
	summary := res.Stderr()[strings.LastIndex(res.Stderr(), "building target latest"):]
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`failed to solve: .*exit code: 22`),
		regexp.MustCompile(`failing step: \[claude \d+/\d+\] RUN `),
	} {
		if !want.MatchString(summary) {
			t.Errorf("error summary does not match %s:\n%s", want, summary)
		}
	}
	docker("image", "inspect", tag).Assert(t, icmd.Expected{ExitCode: 1})

	// A download that is not what was pinned for it is refused, with the way to pin.
	arch := map[string]string{"amd64": "X64", "arm64": "ARM64"}[runtime.GOARCH]
	res = docker(append([]string{"magents", "build", "--progress", "plain", "--tag", tag,
		"--build-arg", "CLAUDE_CODE_SHA512_" + arch + "=" + strings.Repeat("0", 128)}, caFlags()...)...)
	if res.ExitCode == 0 || !strings.Contains(res.Stderr(), "does not match the sha512 pinned in images/Dockerfile.claude: pin this version with make bump-claude VERSION="+claudeVersion) {
		t.Errorf("a download against a wrong sha512: exit %d\n%s", res.ExitCode, tail(res.Stderr(), 20))
	}
	docker("image", "inspect", tag).Assert(t, icmd.Expected{ExitCode: 1})
}

// make bump-claude VERSION=… pins a version in the Dockerfile, the bake file and the
// plugin, with the sha512 of each architecture's package from the registry: run on copies
// pinned to another version with other sums, it gives back this checkout's files.
func TestBumpClaudePinsTheRegistrysIntegrity(t *testing.T) {
	anyEngine(t, "make bump-claude and the npm registry")
	root := t.TempDir()
	sums := regexp.MustCompile(`(?m)^(ARG CLAUDE_CODE_SHA512_\w+=)[0-9a-f]+$`)
	for _, f := range []string{"images/Dockerfile.claude", "docker-bake.hcl", "images/targets.go"} {
		b, err := os.ReadFile(filepath.Join(repoRoot, f))
		if err != nil {
			t.Fatal(err)
		}
		other := strings.ReplaceAll(string(b), claudeVersion, "1.0.0")
		other = sums.ReplaceAllString(other, "${1}"+strings.Repeat("0", 128))
		if other == string(b) {
			t.Fatalf("%s does not name Claude Code %s", f, claudeVersion)
		}
		if err := os.MkdirAll(filepath.Join(root, filepath.Dir(f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(root, f), []byte(other), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := icmd.Command("bash", filepath.Join(repoRoot, "hack/bump-claude.sh"), claudeVersion, root)
	cmd.Env = append(os.Environ(), "CA_CERT="+caCert)
	icmd.RunCmd(cmd).Assert(t, icmd.Success)
	for _, f := range []string{"images/Dockerfile.claude", "docker-bake.hcl", "images/targets.go"} {
		if got, want := readFile(filepath.Join(root, f)), readFile(filepath.Join(repoRoot, f)); got != want {
			t.Errorf("make bump-claude VERSION=%s did not pin %s as this checkout has it:\n%s", claudeVersion, f, got)
		}
	}
	// A version that is not a release is refused before anything is asked.
	icmd.RunCmd(icmd.Command("bash", filepath.Join(repoRoot, "hack/bump-claude.sh"), "latest", root)).
		Assert(t, icmd.Expected{ExitCode: 2, Err: "not a release version"})
}

// `docker magents build --print` and `docker buildx bake --print` agree on every target.
func TestPrintMatchesBake(t *testing.T) {
	anyEngine(t, "the build definition against bake's")
	cases := map[string][]string{
		"latest":   {"latest"},
		"dev":      {"dev"},
		"cloudrun": {"cloudrun"},
		"default":  nil,
	}
	for name, targets := range cases {
		t.Run(name, func(t *testing.T) {
			magentsArgs := []string{"magents", "build", "--print"}
			bakeArgs := []string{"buildx", "bake", "--print"}
			if targets == nil {
				targets = images.TargetNames
			} else {
				bakeArgs = append(bakeArgs, targets...)
			}
			for _, tg := range targets {
				magentsArgs = append(magentsArgs, "--target", tg)
			}
			env := []string{"CA_CERT="}
			if caCert != "" {
				magentsArgs = append(magentsArgs, "--ca-cert", caCert)
				env = []string{"CA_CERT=" + caCert}
			}
			ours := dockerIn(repoRoot, nil, magentsArgs...)
			ours.Assert(t, icmd.Success)
			bake := dockerIn(repoRoot, env, bakeArgs...)
			bake.Assert(t, icmd.Success)
			var a, b any
			if err := json.Unmarshal([]byte(ours.Stdout()), &a); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal([]byte(bake.Stdout()), &b); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(a, b) {
				t.Errorf("docker magents build --print:\n%s\ndocker buildx bake --print:\n%s", ours.Stdout(), bake.Stdout())
			}
		})
	}
}

func TestBakeBuildsLatest(t *testing.T) {
	everyEngine(t, "buildx bake with this engine's builder")
	ensureImage(t, "latest")
	tag := "magents-e2e/bake:latest"
	t.Cleanup(func() { docker("rmi", "-f", tag) })
	args := []string{"buildx", "bake", "--progress", "plain", "--set", "latest.tags=" + tag}
	if caCert != "" {
		// bake asks before it reads a file outside the working directory.
		args = append(args, "--allow", "fs.read="+caCert)
	}
	dockerIn(repoRoot, []string{"CA_CERT=" + caCert}, append(args, "latest")...).Assert(t, icmd.Success)
	docker("run", "--rm", tag, "claude", "--version").Assert(t, icmd.Expected{Out: claudeVersion})
	sameConfig(t, tag, images.Repository+":latest")
}

// The Dockerfile builds with plain `docker build` too, and its default target is latest.
func TestPlainDockerBuild(t *testing.T) {
	everyEngine(t, "docker build of the same Dockerfile with this engine's builder")
	ensureImage(t, "latest")
	tag := "magents-e2e/plain:latest"
	t.Cleanup(func() { docker("rmi", "-f", tag) })
	args := []string{"build", "-f", "images/Dockerfile.claude", "-t", tag}
	if caCert != "" {
		args = append(args, "--secret", "id=ca-cert,src="+caCert)
	}
	// The README's route as it is: the docker CLI builds with BuildKit by default since
	// 23.0; an older one (Engine 20.10's) needs DOCKER_BUILDKIT=1, as the README says, or
	// its legacy builder knows no RUN --mount.
	env := []string{"DOCKER_BUILDKIT="}
	if v := strings.TrimSpace(docker("version", "--format", "{{.Client.Version}}").Stdout()); cliMajor(v) < 23 {
		env = []string{"DOCKER_BUILDKIT=1"}
		t.Logf("docker CLI %s: built with DOCKER_BUILDKIT=1", v)
	}
	dockerIn(repoRoot, env, append(args, "images")...).Assert(t, icmd.Success)
	docker("run", "--rm", tag, "claude", "--version").Assert(t, icmd.Expected{Out: claudeVersion})
	sameConfig(t, tag, images.Repository+":latest")
}

// cliMajor is the major version of a docker CLI or engine version string (0 when it has
// none).
func cliMajor(v string) int {
	major, _, _ := strings.Cut(v, ".")
	n, _ := strconv.Atoi(major)
	return n
}

// sameConfig compares the runtime configuration of two images.
func sameConfig(t *testing.T, a, b string) {
	t.Helper()
	const format = "{{json .Config.Env}} {{json .Config.Entrypoint}} {{json .Config.Cmd}} {{json .Config.User}} {{json .Config.Healthcheck}} {{json .Config.ExposedPorts}} {{json .Config.WorkingDir}}"
	ca := docker("inspect", "-f", format, a).Stdout()
	cb := docker("inspect", "-f", format, b).Stdout()
	if ca != cb {
		t.Errorf("%s and %s differ in configuration:\n%s\n%s", a, b, ca, cb)
	}
}
