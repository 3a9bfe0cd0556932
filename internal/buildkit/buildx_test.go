package buildkit

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A store as `docker buildx create` and `docker buildx use` leave it (the e2e suite checks
// the same against buildx itself).
func buildxStore(t *testing.T) BuildxStore {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"instances/remote1": `{"Name":"remote1","Driver":"remote","Nodes":[{"Name":"remote10","Endpoint":"tcp://buildkit.example:1234","DriverOpts":{"cacert":"/c/ca.pem","cert":"/c/cert.pem","key":"/c/key.pem"}}]}`,
		"instances/box":     `{"Name":"box","Driver":"docker-container","Nodes":[{"Name":"box0","Endpoint":"unix:///var/run/docker.sock"}]}`,
		"instances/kube":    `{"Name":"kube","Driver":"kubernetes","Nodes":[{"Name":"kube0","Endpoint":"kubernetes:///kube"}]}`,
	}
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return BuildxStore{Dir: dir, CurrentContext: "default", CurrentKey: "unix:///var/run/docker.sock", Contexts: []string{"default", "remote-engine"}}
}

func TestResolveBuilder(t *testing.T) {
	for _, v := range []string{"BUILDKIT_HOST", "BUILDX_BUILDER"} {
		t.Setenv(v, "")
	}
	s := buildxStore(t)
	for _, tc := range []struct{ name, addr, err string }{
		{"", "", ""}, // nothing selected: the engine's own
		{"unix:///run/buildkit/buildkitd.sock", "unix:///run/buildkit/buildkitd.sock", ""},
		{"remote1", "tcp://buildkit.example:1234", ""},
		{"box", "docker-container://buildx_buildkit_box0", ""},
		{"default", "", ""},
		{"docker", "", ""},
		{"remote-engine", "", "BuildKit of docker context remote-engine"},
		{"kube", "", "kubernetes driver"},
		{"nope", "", `no builder "nope"`},
	} {
		ep, err := s.Resolve(tc.name)
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("--builder %q: error %v, want one saying %q", tc.name, err, tc.err)
		case tc.err == "" && err != nil:
			t.Errorf("--builder %q: %v", tc.name, err)
		case tc.err == "" && ep.Addr != tc.addr:
			t.Errorf("--builder %q: address %q, want %q", tc.name, ep.Addr, tc.addr)
		}
	}
	if ep, _ := s.Resolve("remote1"); len(ep.opts) != 2 {
		t.Errorf("the remote builder's TLS files are not used: %d client options", len(ep.opts))
	}

	// What docker buildx use selected is the default, for its engine or everywhere.
	write := func(content string) {
		if err := os.WriteFile(filepath.Join(s.Dir, "current"), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(`{"Key":"unix:///var/run/docker.sock","Name":"box","Global":false}`)
	if ep, _ := s.Resolve(""); ep.Name != "box" {
		t.Errorf("after docker buildx use box: %+v", ep)
	}
	write(`{"Key":"tcp://elsewhere:2376","Name":"box","Global":false}`)
	if ep, _ := s.Resolve(""); ep.Addr != "" {
		t.Errorf("a builder used for another engine was taken: %+v", ep)
	}
	write(`{"Key":"tcp://elsewhere:2376","Name":"remote1","Global":true}`)
	if ep, _ := s.Resolve(""); ep.Name != "remote1" {
		t.Errorf("after docker buildx use --global remote1: %+v", ep)
	}
	// The environment comes first, as in buildx: BUILDKIT_HOST, then BUILDX_BUILDER.
	t.Setenv("BUILDX_BUILDER", "box")
	if ep, _ := s.Resolve(""); ep.Name != "box" {
		t.Errorf("BUILDX_BUILDER=box: %+v", ep)
	}
	t.Setenv("BUILDKIT_HOST", "tcp://127.0.0.1:1")
	if ep, _ := s.Resolve(""); ep.Addr != "tcp://127.0.0.1:1" {
		t.Errorf("BUILDKIT_HOST: %+v", ep)
	}
}
