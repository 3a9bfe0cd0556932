package fleet

import (
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker-magents/docker-magents/images/supervisor/agenttoken"
)

func TestValidate(t *testing.T) {
	ok := New("magents", "/x/docker-compose.claude.yml")
	if err := ok.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	for name, mutate := range map[string]func(*Fleet){
		"agents 0":                            func(f *Fleet) { f.Agents = 0 },
		"agents 257":                          func(f *Fleet) { f.Agents = MaxAgents + 1 },
		"project spaces":                      func(f *Fleet) { f.Project = "my project" },
		"project upper":                       func(f *Fleet) { f.Project = "Magents" },
		"user name":                           func(f *Fleet) { f.User = "magents" },
		"user no gid":                         func(f *Fleet) { f.User = "1000" },
		"negative cpus":                       func(f *Fleet) { f.CPUs = -1 },
		"permission mode":                     func(f *Fleet) { f.PermissionMode = "yolo" },
		"egress":                              func(f *Fleet) { f.Egress = "closed" },
		"allow url":                           func(f *Fleet) { f.Allow = []string{"https://example.com"} },
		"allow pattern":                       func(f *Fleet) { f.Allow = []string{"api.*.com"} },
		"allow *":                             func(f *Fleet) { f.Allow = []string{"*"} },
		"allow *.com":                         func(f *Fleet) { f.Allow = []string{"*.com"} },
		"allow *.co.uk":                       func(f *Fleet) { f.Allow = []string{"*.CO.UK:443"} },
		"allow *.io":                          func(f *Fleet) { f.Allow = []string{"gateway.example.com", "*.io"} },
		"egress none":                         func(f *Fleet) { f.Egress = "" },
		"memory nan":                          func(f *Fleet) { f.Memory = "nan" },
		"memory 1e30g":                        func(f *Fleet) { f.Memory = "1e30g" },
		"base option":                         func(f *Fleet) { f.Base = "--upload-pack=evil" },
		"include newline":                     func(f *Fleet) { f.Includes = []string{".env\n../x"} },
		"credential name":                     func(f *Fleet) { f.Credential = "HOME" },
		"relative gitdir":                     func(f *Fleet) { f.GitDir = "repo/.git" },
		"agent cmd utf8":                      func(f *Fleet) { f.AgentCmd = "$A\xff" },
		"task utf8":                           func(f *Fleet) { f.Tasks = []string{"fix \xc3"} },
		"settings utf8":                       func(f *Fleet) { f.Config.Settings = "\x80.json" },
		"gateway allow *":                     func(f *Fleet) { f.GatewayAllow = []string{"*"} },
		"gateway allow beta without its date": func(f *Fleet) { f.GatewayAllow = []string{"web_search", "files-api"} },
	} {
		f := New("magents", "/x/docker-compose.claude.yml")
		mutate(f)
		if err := f.Validate(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// A number out of range is said once, not again as too many tasks.
	neg := New("magents", "/x/docker-compose.claude.yml")
	neg.Agents, neg.Tasks = -1, []string{"a"}
	if err := neg.Validate(); err == nil || err.Error() != "invalid number of agents -1: give 1 to 256" {
		t.Errorf("agents -1 with a task: %v", err)
	}
	good := New("magents", "/x/docker-compose.claude.yml")
	good.Allow = []string{"*.example.com", "*.example.co.uk:8443", "gateway.internal"}
	if err := good.Validate(); err != nil {
		t.Errorf("wildcards under a registered domain: %v", err)
	}
}

func TestAgentNumbersStartAtOne(t *testing.T) {
	f := New("p", "/x/c.yml")
	f.Agents = 3
	if got := strings.Join(f.AgentNames(), ","); got != "agent-1,agent-2,agent-3" {
		t.Errorf("names %s", got)
	}
	if f.ContainerName("agent-1") != "p-agent-1" {
		t.Errorf("container %s", f.ContainerName("agent-1"))
	}
	for in, want := range map[string]int{"agent-2": 2, "7": 7} {
		if n, err := AgentNumber(in); err != nil || n != want {
			t.Errorf("AgentNumber(%q) = %d, %v", in, n, err)
		}
	}
	for _, bad := range []string{"agent-0", "agent-x", "web"} {
		if _, err := AgentNumber(bad); err == nil {
			t.Errorf("AgentNumber(%q) accepted", bad)
		}
	}
}

// A second Lock waits until the first is released.
func TestLockSerializes(t *testing.T) {
	f := New("p", filepath.Join(t.TempDir(), "c.yml"))
	unlock, err := f.Lock()
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan struct{})
	go func() {
		u, err := f.Lock()
		if err != nil {
			t.Error(err)
		}
		close(got)
		u()
	}()
	select {
	case <-got:
		t.Fatal("a second lock was granted while the first was held")
	case <-time.After(300 * time.Millisecond):
	}
	unlock()
	select {
	case <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("the second lock was not granted after the first was released")
	}
}

// The record of what was written lives outside the compose file's directory; a file that
// differs from it, or has none, is unrecorded; privileged settings that differ from the
// trusted ones are named unless given.
func TestRecord(t *testing.T) {
	records := filepath.Join(t.TempDir(), "docker", "magents", "fleets")
	f := New("p", filepath.Join(t.TempDir(), "c.yml"))
	content := []byte("name: p\n")
	if err := os.WriteFile(f.ComposeFile, content, 0o644); err != nil {
		t.Fatal(err)
	}
	if why, err := Unrecorded(nil, f.ComposeFile); err != nil || !strings.Contains(why, "no record") {
		t.Fatalf("a file with no record: %q %v", why, err)
	}
	if err := f.WriteRecord(records, content); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(f.StateDir()); len(entries) != 0 {
		t.Errorf("something was recorded next to the compose file: %v", entries)
	}
	rec, err := ReadRecord(records, f.ComposeFile)
	if err != nil || rec == nil {
		t.Fatalf("record: %v %v", rec, err)
	}
	if st, err := os.Stat(filepath.Dir(RecordPath(records, f.ComposeFile))); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("records dir: %v %v", st, err)
	}
	if why, err := Unrecorded(rec, f.ComposeFile); err != nil || why != "" {
		t.Fatalf("unchanged file: %q %v", why, err)
	}
	other := New("p", filepath.Join(t.TempDir(), "c.yml"))
	if r, _ := ReadRecord(records, other.ComposeFile); r != nil {
		t.Error("another file of the same project shares the record")
	}
	if err := os.WriteFile(f.ComposeFile, append(content, "# mine\n"...), 0o644); err != nil {
		t.Fatal(err)
	}
	if why, _ := Unrecorded(rec, f.ComposeFile); !strings.Contains(why, "changed") {
		t.Fatalf("a hand edit went unnoticed: %q", why)
	}

	edited := *f
	edited.Docker, edited.User, edited.Allow, edited.Tasks = true, "0:0", []string{"evil.example.com"}, []string{"harmless"}
	changes := edited.PrivilegeChanges(rec.Privileged, func(string) bool { return false })
	want := []string{`--allow: "" → "evil.example.com"`, `--docker: "false" → "true"`, `--user: "1000:1000" → "0:0"`}
	if !slices.Equal(changes, want) {
		t.Errorf("changes %q, want %q", changes, want)
	}
	if c := edited.PrivilegeChanges(rec.Privileged, func(flag string) bool { return flag != "user" }); len(c) != 1 {
		t.Errorf("flags given still named: %q", c)
	}
}

func TestIgnoreStateDirInGitWorkTree(t *testing.T) {
	dir := t.TempDir()
	if out, err := exec.Command("git", "init", "-q", dir).CombinedOutput(); err != nil {
		t.Skipf("git init: %v %s", err, out)
	}
	if err := os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("bin/"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := New("p", filepath.Join(dir, DefaultFile))
	for range 2 { // idempotent
		if err := f.IgnoreStateDir(); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := os.ReadFile(filepath.Join(dir, ".gitignore"))
	if strings.Count(string(b), ".magents/") != 1 || strings.Count(string(b), ".env.magents") != 1 || !strings.HasPrefix(string(b), "bin/\n") {
		t.Errorf(".gitignore:\n%s", b)
	}
	// Outside a work tree nothing is written.
	other := New("p", filepath.Join(t.TempDir(), DefaultFile))
	if err := other.IgnoreStateDir(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(other.Dir(), ".gitignore")); err == nil {
		t.Error("a .gitignore was written outside a git work tree")
	}
}

func TestWriteCredentialIsPrivateAndReplacedByRename(t *testing.T) {
	f := New("p", filepath.Join(t.TempDir(), "c.yml"))
	f.User = "4321:4321"
	if os.Geteuid() != 0 {
		f.User = strings.Join([]string{itoa(os.Geteuid()), itoa(os.Getegid())}, ":")
	}
	if err := f.WriteAgentCredential("ANTHROPIC_API_KEY", "sk-ant-api03-one"); err != nil {
		t.Fatal(err)
	}
	// With egress allowlist an API key is the model gateway's alone: no agent mounts it.
	path := filepath.Join(f.GatewaySecretsDir(), "anthropic_api_key")
	st1, err := os.Stat(path)
	if err != nil || st1.Mode().Perm() != 0o600 || f.CredentialFile("ANTHROPIC_API_KEY") != path {
		t.Fatalf("secret file: %v %v", st1, err)
	}
	if _, err := os.Stat(filepath.Join(f.AgentSecretsDir(), "anthropic_api_key")); err == nil {
		t.Fatal("the agents' secrets dir holds the API key the gateway relays")
	}
	if err := f.WriteAgentKey(); err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(filepath.Join(f.GatewaySecretsDir(), AgentKeyFile))
	if err != nil || len(key) != 64 {
		t.Fatalf("the fleet's key: %q %v", key, err)
	}
	if err := f.WriteAgentCredential("ANTHROPIC_API_KEY", "sk-ant-api03-two"); err != nil {
		t.Fatal(err)
	}
	st2, _ := os.Stat(path)
	if os.SameFile(st1, st2) {
		t.Error("the credential was rewritten in place: a running agent's mount would not see a rename-based rotation")
	}
	if b, _ := os.ReadFile(path); string(b) != "sk-ant-api03-two" {
		t.Errorf("content %q", b)
	}
	if err := f.WriteAgentKey(); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(filepath.Join(f.GatewaySecretsDir(), AgentKeyFile)); string(again) != string(key) {
		t.Error("the fleet's key changed: every running agent's token would stop working")
	}
	// Switching to another kind of credential leaves only that one.
	if err := f.WriteAgentCredential("CLAUDE_CODE_OAUTH_TOKEN", "sk-ant-oat01-x"); err != nil {
		t.Fatal(err)
	}
	if got := f.AgentCredential(); got != "CLAUDE_CODE_OAUTH_TOKEN" || f.CredentialFile(got) != filepath.Join(f.AgentSecretsDir(), "claude_code_oauth_token") {
		t.Errorf("agent credential %s in %s", got, f.CredentialFile(got))
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("the API key file is still there after switching to an OAuth token")
	}
	if st, _ := os.Stat(f.SecretsDir()); st.Mode().Perm() != 0o700 {
		t.Errorf("secrets dir mode %o", st.Mode().Perm())
	}
	// Open egress: no gateway, the agents read the key themselves.
	f.Egress = EgressOpen
	if err := f.WriteAgentCredential("ANTHROPIC_API_KEY", "sk-ant-api03-three"); err != nil {
		t.Fatal(err)
	}
	if got := f.CredentialFile("ANTHROPIC_API_KEY"); got != filepath.Join(f.AgentSecretsDir(), "anthropic_api_key") || f.AgentCredential() != "ANTHROPIC_API_KEY" {
		t.Errorf("open egress: the key is in %s", got)
	}
	if _, err := os.Stat(path); err == nil {
		t.Error("the gateway's copy of the key is still there with open egress")
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestParseTasks(t *testing.T) {
	for in, want := range map[string]string{
		"Implement feature X\n\n# a comment\nWrite tests for feature X\n": "Implement feature X|Write tests for feature X",
		"- Implement feature X\n- 'Write tests: for X'\n":                 "Implement feature X|Write tests: for X",
		`["one", "two"]`: "one|two",
	} {
		got, err := ParseTasks([]byte(in))
		if err != nil || strings.Join(got, "|") != want {
			t.Errorf("ParseTasks(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "# only a comment\n", "- [unclosed\n", "- ''\n"} {
		if _, err := ParseTasks([]byte(bad)); err == nil {
			t.Errorf("ParseTasks(%q) accepted", bad)
		}
	}
	f := New("p", "/x/c.yml")
	f.Agents, f.Tasks = 1, []string{"a", "b"}
	if err := f.Validate(); err == nil || !strings.Contains(err.Error(), "2 tasks for 1 agent") {
		t.Errorf("more tasks than agents: %v", err)
	}
}

func TestParseMemory(t *testing.T) {
	for in, want := range map[string]int64{"4g": 4 << 30, "512m": 512 << 20, "512MB": 512 << 20, "7340032": 7 << 20, "1.5g": 3 << 29} {
		if got, err := ParseBytes(in); err != nil || got != want {
			t.Errorf("ParseBytes(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "-1g", "lots", "0", "1024", "nan", "NaN", "inf", "+Inf", "1e30g", "99999999999t", "4 gigs"} {
		if err := ParseMemory(bad); err == nil {
			t.Errorf("ParseMemory(%q) accepted", bad)
		}
	}
}

func TestIPv6Subnet(t *testing.T) {
	a, b := &Fleet{Project: "alpha"}, &Fleet{Project: "beta"}
	for _, s := range []string{a.IPv6Subnet(1), a.IPv6Subnet(2), b.IPv6Subnet(1)} {
		p, err := netip.ParsePrefix(s)
		if err != nil || p.Bits() != 64 || !netip.MustParsePrefix("fd00::/8").Contains(p.Addr()) || p.Masked() != p {
			t.Errorf("%s is not a ULA /64 (%v)", s, err)
		}
	}
	if a.IPv6Subnet(1) == a.IPv6Subnet(2) || a.IPv6Subnet(1) == b.IPv6Subnet(1) {
		t.Errorf("subnets not distinct: %s %s %s", a.IPv6Subnet(1), a.IPv6Subnet(2), b.IPv6Subnet(1))
	}
	if a.IPv6Subnet(1) != (&Fleet{Project: "alpha"}).IPv6Subnet(1) {
		t.Error("the subnet of a project changes between runs")
	}
}

func TestRelWritesPathsInsideTheFleetRelative(t *testing.T) {
	dir := t.TempDir()
	f := New("p", filepath.Join(dir, "docker-compose.claude.yml"))
	for in, want := range map[string]string{"": "", dir: ".", filepath.Join(dir, "src"): "./src", "/": "/", dir + "-sibling": dir + "-sibling"} {
		if got := f.Rel(in); got != want {
			t.Errorf("Rel(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseIsolation(t *testing.T) {
	for _, s := range Isolations {
		if got, err := ParseIsolation(s); err != nil || got != s {
			t.Errorf("ParseIsolation(%q) = %q, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "container"} {
		if _, err := ParseIsolation(s); err == nil || !strings.Contains(err.Error(), "clone, worktree, shared") {
			t.Errorf("ParseIsolation(%q): err = %v, want the choices", s, err)
		}
	}
}

// A cluster's agents get their tokens as secrets: each the one the gateway computes from
// the fleet's key, private, and the key kept across deploys.
func TestWriteClusterTokens(t *testing.T) {
	f := New("p", filepath.Join(t.TempDir(), "c.yml"))
	f.Egress, f.Agents = EgressOpen, 2
	if os.Geteuid() != 0 {
		f.User = strings.Join([]string{itoa(os.Geteuid()), itoa(os.Getegid())}, ":")
	}
	keyFile, tokens, err := f.WriteClusterTokens()
	if err != nil {
		t.Fatal(err)
	}
	key, err := os.ReadFile(keyFile)
	if err != nil || len(key) != 64 || len(tokens) != 2 {
		t.Fatalf("key %q (%v), tokens %v", key, err, tokens)
	}
	for _, agent := range []string{"agent-1", "agent-2"} {
		b, err := os.ReadFile(tokens[agent])
		st, _ := os.Stat(tokens[agent])
		if err != nil || !agenttoken.Valid(key, agent, string(b)) || st.Mode().Perm() != 0o600 {
			t.Errorf("%s's token %q: %v", agent, b, err)
		}
	}
	if _, again, _ := f.WriteClusterTokens(); readString(t, again["agent-1"]) != readString(t, tokens["agent-1"]) {
		t.Error("a second deploy gave agent-1 another token: its running task would be refused")
	}
}

func readString(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// A credential file given to up is masked from the agents wherever it sits in what they
// are given, and only where it exists.
func TestMasksCredentialFiles(t *testing.T) {
	dir := t.TempDir()
	f := New("p", filepath.Join(dir, DefaultFile))
	for _, name := range []string{"keys/anthropic.key", "token"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte("secret"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	f.CredentialFiles = []string{"./keys/anthropic.key", "./token", "./gone.key", "../outside.key"}
	var got []string
	for _, m := range f.Masks(dir) {
		got = append(got, m.Rel)
	}
	for _, want := range []string{"keys/anthropic.key", "token"} {
		if !slices.Contains(got, want) {
			t.Errorf("masks %v lack %s", got, want)
		}
	}
	for _, not := range []string{"gone.key", "../outside.key"} {
		if slices.Contains(got, not) {
			t.Errorf("masks %v hold %s", got, not)
		}
	}
}
