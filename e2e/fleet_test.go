//go:build e2e

package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"gotest.tools/v3/icmd"

	"github.com/docker-magents/docker-magents/internal/anthropictest"
	"github.com/docker-magents/docker-magents/internal/fleet"
)

// workspaceUID owns test workspaces: not root and not the image's 1000, so the mapping
// of agents to the workspace owner is really exercised.
const workspaceUID = 1001

// fleetEnv is a workspace with a Messages API test double the agents reach through
// host.docker.internal.
type fleetEnv struct {
	t      *testing.T
	dir    string
	api    *anthropictest.Server
	apiKey string
	// project, when set, is given to every docker magents command (-p), so that the
	// suite's fleet is its own and it may run alongside others (parallelSuite). Empty is
	// the default project, which one parallel suite alone uses: TestFleetUpAttachScaleDown.
	project string
}

func newFleetEnv(t *testing.T, marker string) *fleetEnv {
	t.Helper()
	return newFleetEnvWith(t, marker, nil)
}

// newFleetEnvWith lets a test script the API; nil answers "pong MARKER" to "ping".
func newFleetEnvWith(t *testing.T, marker string, respond anthropictest.Responder) *fleetEnv {
	t.Helper()
	// Named magents, so that the default project (the directory's name, as compose
	// names it) is the guide's: magents-agent-1.
	return newFleetEnvIn(t, fleet.DefaultProject, marker, respond)
}

// newFleetEnvIn is newFleetEnvWith in a directory named name.
func newFleetEnvIn(t *testing.T, name, marker string, respond anthropictest.Responder) *fleetEnv {
	t.Helper()
	ensureImage(t, "latest")
	dir := filepath.Join(t.TempDir(), name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// The owner must reach it too (git runs as the owner): open the parents go test made.
	for _, d := range []string{filepath.Dir(filepath.Dir(dir)), filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Chown(dir, workspaceUID, workspaceUID); err != nil {
		t.Fatal(err)
	}
	if respond == nil {
		respond = func(r anthropictest.Request) anthropictest.Reply {
			if !r.HasTools() {
				return anthropictest.Reply{Text: "Test title"}
			}
			if strings.Contains(r.LastUserText(), "ping") {
				return anthropictest.Reply{Text: "pong " + marker}
			}
			return anthropictest.Reply{Text: "The Messages API test double heard you."}
		}
	}
	api, err := anthropictest.Start("0.0.0.0:0", respond)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { api.Close() })
	// Not a credential, so it belongs in the shared env file.
	env := fmt.Sprintf("ANTHROPIC_BASE_URL=http://%s:%s\n", hostAddr(), api.Port())
	if err := os.WriteFile(filepath.Join(dir, ".env.magents"), []byte(env), 0o600); err != nil {
		t.Fatal(err)
	}
	e := &fleetEnv{t: t, dir: dir, api: api, apiKey: "sk-ant-api03-e2e-" + marker}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("compose file:\n%s", readFile(filepath.Join(dir, "docker-compose.claude.yml")))
		}
		e.magents("down", "--volumes")
	})
	return e
}

// magents runs docker magents in the workspace with the test's API key in its environment.
func (e *fleetEnv) magents(args ...string) *icmd.Result {
	cmd := []string{"magents"}
	if e.project != "" {
		cmd = append(cmd, "-p", e.project)
	}
	return dockerIn(e.dir, []string{"ANTHROPIC_API_KEY=" + e.apiKey}, append(cmd, args...)...)
}

// inProject gives the suite's fleet a project of its own (see fleetEnv.project).
func (e *fleetEnv) inProject(project string) *fleetEnv {
	e.project = project
	return e
}

// container is the name of an agent's container (agent-1 → PROJECT-agent-1).
func (e *fleetEnv) container(agent string) string {
	if e.project == "" {
		return fleet.DefaultProject + "-" + agent
	}
	return e.project + "-" + agent
}

// savedAgents is the number of agents the compose file's x-magents says.
func savedAgents(t *testing.T, composeFile string) int {
	t.Helper()
	for _, line := range strings.Split(readFile(composeFile), "\n") {
		if n, ok := strings.CutPrefix(line, "  agents: "); ok {
			var agents int
			if _, err := fmt.Sscan(n, &agents); err == nil {
				return agents
			}
		}
	}
	t.Fatalf("no agents in %s", composeFile)
	return 0
}

func (e *fleetEnv) ps() []map[string]any {
	e.t.Helper()
	res := e.magents("ps", "--all", "--volumes", "--live", "--format", "json")
	res.Assert(e.t, icmd.Success)
	return jsonLines[map[string]any](e.t, res.Stdout())
}

// hostAddr is how agents reach this test process: host.docker.internal on the host's
// engine; a nested engine's containers reach the host through its bridge gateway
// (hack/engine-current.sh env).
func hostAddr() string {
	if a := os.Getenv("MAGENTS_E2E_HOST_ADDR"); a != "" {
		return a
	}
	return "host.docker.internal"
}

func containerID(t *testing.T, name string) string {
	t.Helper()
	res := docker("inspect", "-f", "{{.Id}}", name)
	res.Assert(t, icmd.Success)
	return strings.TrimSpace(res.Stdout())
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

func TestFleetUpAttachScaleDown(t *testing.T) {
	everyEngine(t, "the fleet's life on the engine: up, exec attach, scale, down")
	parallelSuite(t)
	e := newFleetEnv(t, fmt.Sprint(time.Now().UnixNano()))

	e.magents("up", "--agents", "2").Assert(t, icmd.Success)
	composeFile := filepath.Join(e.dir, "docker-compose.claude.yml")
	// The written file is an ordinary compose project, and holds no credential.
	dockerIn(e.dir, nil, "compose", "-f", composeFile, "config", "-q").Assert(t, icmd.Success)
	if strings.Contains(readFile(composeFile), e.apiKey) {
		t.Fatal("the compose file holds the API key")
	}
	for _, agent := range []string{"agent-1", "agent-2"} {
		c := "magents-" + agent
		docker("inspect", "-f", "{{.State.Health.Status}}", c).Assert(t, icmd.Expected{Out: "healthy"})
		docker("exec", c, "tmux", "ls").Assert(t, icmd.Expected{Out: "claude:"})
		// The agent runs as the workspace owner, and docker exec (as the guide does) too.
		docker("exec", c, "id", "-u").Assert(t, icmd.Expected{Out: fmt.Sprint(workspaceUID)})
		if out := docker("inspect", c).Stdout(); strings.Contains(out, e.apiKey) {
			t.Errorf("docker inspect %s shows the API key", c)
		}
	}
	// Claude's SessionStart hook says when it is at its prompt.
	e.magents("wait", "--timeout", "60s").Assert(t, icmd.Success)
	statuses := e.ps()
	if len(statuses) != 2 || statuses[0]["Agent"] != "agent-1" || statuses[0]["State"] != "idle" || statuses[0]["Auth"] != "gateway" {
		t.Errorf("ps --format json = %v", statuses)
	}
	// As docker ps: -q lists the agents' container IDs (not the egress proxy's), a template
	// names the fields the JSON keys name, and a table template has a header.
	ids := containerID(t, "magents-agent-1")[:12] + "\n" + containerID(t, "magents-agent-2")[:12]
	if got := strings.TrimSpace(e.magents("ps", "-q").Stdout()); got != ids {
		t.Errorf("ps -q:\n%s\nwant\n%s", got, ids)
	}
	e.magents("ps", "--format", "{{.Agent}}={{.State}}").Assert(t, icmd.Expected{Out: "agent-1=idle\nagent-2=idle\n"})
	e.magents("ps", "--format", "table {{.Agent}}\t{{.ContainerState}}").Assert(t, icmd.Expected{Out: "AGENT     CONTAINER STATE\nagent-1   running"})
	e.magents("ps", "--format", "{{.Nope").Assert(t, icmd.Expected{ExitCode: 1, Err: "invalid --format"})
	// logs: the session's last lines, then the container's logs, through the engine's API.
	if out := e.magents("logs", "--tail", "all", "agent-1").Combined(); !strings.Contains(out, "── agent-1: session claude") || !strings.Contains(out, "Claude Code") || !strings.Contains(out, "session claude started") {
		t.Errorf("logs agent-1:\n%s", out)
	}
	e.magents("logs", "agent-3").Assert(t, icmd.Expected{ExitCode: 1, Err: "there is no agent-3"})
	// Running up again changes nothing.
	id1 := containerID(t, "magents-agent-1")
	e.magents("up").Assert(t, icmd.Success)
	if containerID(t, "magents-agent-1") != id1 {
		t.Error("a second up recreated agent-1")
	}

	// A hand-edited file is not overwritten unless asked.
	f, err := os.OpenFile(composeFile, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString("# a note of mine\n")
	f.Close()
	e.magents("up").Assert(t, icmd.Expected{ExitCode: 1, Err: "changed since docker magents wrote it"})
	e.magents("up", "--force").Assert(t, icmd.Success)
	if strings.Contains(readFile(composeFile), "a note of mine") {
		t.Error("up --force kept the hand edit")
	}

	// Two different up commands at once are serialized by the project lock: both succeed,
	// and what runs is what the file the later one wrote says, all of it healthy.
	first := icmd.StartCmd(icmd.Cmd{Command: []string{"docker", "magents", "up", "--agents", "3"}, Dir: e.dir, Env: append(os.Environ(), "ANTHROPIC_API_KEY="+e.apiKey)})
	second := e.magents("up", "--agents", "2")
	icmd.WaitOnCmd(2*time.Minute, first).Assert(t, icmd.Success)
	second.Assert(t, icmd.Success)
	saved := savedAgents(t, composeFile)
	if saved != 2 && saved != 3 {
		t.Fatalf("after two ups the file says %d agents", saved)
	}
	running := strings.Fields(docker("ps", "--filter", "label=com.docker.compose.project=magents", "--filter", "label=io.docker-magents.agent",
		"--filter", "health=healthy", "--format", "{{.Names}}").Stdout())
	if len(running) != saved {
		t.Errorf("the file says %d agents, and %d healthy agents run: %v", saved, len(running), running)
	}
	e.magents("up", "--agents", "2").Assert(t, icmd.Success)
	if containerID(t, "magents-agent-1") != id1 {
		t.Error("concurrent ups recreated agent-1")
	}

	t.Run("attach", func(t *testing.T) {
		cmd := exec.Command("docker", "magents", "attach", "agent-1")
		cmd.Dir = e.dir
		tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 150})
		if err != nil {
			t.Fatal(err)
		}
		defer tty.Close()
		out := &syncBuffer{}
		go func() { _, _ = io.Copy(out, tty) }()
		waitOutput(t, out, "Claude Code v"+claudeVersion, 30*time.Second)
		waitOutput(t, out, "❯", 30*time.Second)
		for _, unwanted := range []string{"Choose the text style", "Do you trust the files", "Do you want to use this API key", "Not logged in"} {
			if strings.Contains(screenText(out.String()), unwanted) {
				t.Errorf("attach shows %q instead of the prompt", unwanted)
			}
		}
		// A prompt typed here is a real turn against the test double. Enter goes once Claude
		// shows the typed text after its prompt: typed in one burst, Claude's input would take
		// "ping\r" as a paste, the Enter a newline in it.
		before := len(out.String())
		if _, err := tty.Write([]byte("ping")); err != nil {
			t.Fatal(err)
		}
		waitFor(t, 30*time.Second, `Claude to echo the typed "ping" after its prompt`, func() (bool, string) {
			s := out.String()
			// Only the output since the typing counts: the screen before it may hold "ping"
			// inside other words.
			return strings.Contains(screenText(s[before:]), "ping"), tail(screenText(s), 40)
		})
		if _, err := tty.Write([]byte("\r")); err != nil {
			t.Fatal(err)
		}
		waitOutput(t, out, "pong "+strings.TrimPrefix(e.apiKey, "sk-ant-api03-e2e-"), 60*time.Second)
		var sawKey bool
		for _, r := range e.api.Requests() {
			sawKey = sawKey || r.APIKey == e.apiKey
		}
		if !sawKey {
			t.Error("the test double never received the fleet's API key")
		}
		// The agent turns its tmux's passthrough and clipboard on and writes a clipboard
		// write (OSC 52), one passed through tmux and a window title to its pane: the
		// screen shows what follows them, and none of them reaches the terminal.
		marker := fmt.Sprintf("after-the-sequences-%d", time.Now().UnixNano())
		stage(t, "magents-agent-1", "clipboard, title and passthrough through tmux", plantSequences(marker))
		waitOutput(t, out, marker, 30*time.Second)
		escapeAttempts.Add(1)
		// (The title's text may show in tmux's own status line, as text: the sequence that
		// would set the window's title may not.)
		for _, seq := range []string{"\x1b]", "\x1bP", "\u009d", "\u0090"} {
			if strings.Contains(out.String(), seq) {
				escapesGot.Add(1)
				t.Errorf("attach passed %q from the agent's session to the terminal", seq)
			}
		}
		// C-b d detaches: attach returns and the session goes on.
		if _, err := tty.Write([]byte{0x02, 'd'}); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		waitFor(t, 15*time.Second, "attach to return after C-b d", func() (bool, string) {
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("attach exited with %v after detaching", err)
				}
				return true, ""
			default:
				return false, tail(screenText(out.String()), 40)
			}
		})
		docker("exec", "magents-agent-1", "tmux", "has-session", "-t", "claude").Assert(t, icmd.Success)
		// Without a terminal, attach says what to do instead.
		e.magents("attach", "agent-1").Assert(t, icmd.Expected{ExitCode: 1, Err: "needs a terminal"})
	})

	t.Run("guide attach command", func(t *testing.T) {
		cmd := exec.Command("docker", "exec", "-it", "magents-agent-1", "tmux", "attach", "-t", "claude")
		tty, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 150})
		if err != nil {
			t.Fatal(err)
		}
		defer tty.Close()
		out := &syncBuffer{}
		go func() { _, _ = io.Copy(out, tty) }()
		waitOutput(t, out, "❯", 30*time.Second)
		// The same plant as under docker magents attach reaches a terminal attached without
		// it: the attempt there fired, and only attach's filter stopped it.
		marker := fmt.Sprintf("after-the-sequences-%d", time.Now().UnixNano())
		stage(t, "magents-agent-1", "clipboard, title and passthrough, attached by hand", plantSequences(marker))
		waitOutput(t, out, marker, 30*time.Second)
		if !strings.Contains(out.String(), "\x1b]52;") {
			t.Errorf("the agent's clipboard write did not reach a terminal attached by hand: the attempt under docker magents attach proves nothing\n%q", tail(out.String(), 20))
		}
		_, _ = tty.Write([]byte{0x02, 'd'})
		_ = cmd.Wait()
	})

	t.Run("scale keeps agent-1 and its volume", func(t *testing.T) {
		docker("exec", "magents-agent-1", "sh", "-c", `echo kept > "$CLAUDE_CONFIG_DIR/e2e-marker"`).Assert(t, icmd.Success)
		e.magents("up", "--agents", "3").Assert(t, icmd.Success)
		if containerID(t, "magents-agent-1") != id1 {
			t.Error("scaling up recreated agent-1")
		}
		docker("inspect", "-f", "{{.State.Health.Status}}", "magents-agent-3").Assert(t, icmd.Expected{Out: "healthy"})
		e.magents("up", "--agents", "1").Assert(t, icmd.Success)
		if containerID(t, "magents-agent-1") != id1 {
			t.Error("scaling down recreated agent-1")
		}
		docker("inspect", "magents-agent-2").Assert(t, icmd.Expected{ExitCode: 1})
		statuses := e.ps()
		var retained []string
		for _, s := range statuses {
			if s["Retained"] == true {
				retained = append(retained, s["Agent"].(string))
			}
		}
		if strings.Join(retained, ",") != "agent-2,agent-3" {
			t.Errorf("ps --volumes lists retained volumes %v, want agent-2 and agent-3", retained)
		}
		docker("volume", "inspect", "magents_agent-2-config").Assert(t, icmd.Success)
	})

	t.Run("down then up brings the config back", func(t *testing.T) {
		e.magents("down").Assert(t, icmd.Success)
		docker("inspect", "magents-agent-1").Assert(t, icmd.Expected{ExitCode: 1})
		e.magents("up").Assert(t, icmd.Success)
		docker("exec", "magents-agent-1", "sh", "-c", `cat "$CLAUDE_CONFIG_DIR/e2e-marker"`).Assert(t, icmd.Expected{Out: "kept"})
		// The saved settings held: still one agent.
		docker("inspect", "magents-agent-2").Assert(t, icmd.Expected{ExitCode: 1})
	})

	t.Run("supervisor restarts a killed agent", func(t *testing.T) {
		docker("exec", "magents-agent-1", "pkill", "-x", "claude").Assert(t, icmd.Success)
		waitFor(t, 30*time.Second, "the supervisor to restart the killed agent", func() (bool, string) {
			res := docker("exec", "magents-agent-1", "magents-supervisor", "health")
			return res.ExitCode == 0 && strings.Contains(res.Stdout(), `"restarts":1`), res.Combined()
		})
	})

	t.Run("restart policy brings back a killed container", func(t *testing.T) {
		before := strings.TrimSpace(docker("inspect", "-f", "{{.State.StartedAt}}", "magents-agent-1").Stdout())
		// SIGKILL the supervisor, tini's child (tini is PID 1, which no signal from inside
		// ends): tini exits with it, and the container dies as if it crashed. From inside,
		// so it works the same on a nested engine, whose PIDs the host does not see; the
		// oldest process of that name is the supervisor (the others are its execs).
		// Detached: the exec dies with the container it kills.
		docker("exec", "-d", "magents-agent-1", "sh", "-c", "kill -KILL $(pgrep -o -x magents-supervi)").Assert(t, icmd.Success)
		waitFor(t, 30*time.Second, "the killed container to be started again", func() (bool, string) {
			res := docker("inspect", "-f", "{{.State.Status}} {{.State.StartedAt}}", "magents-agent-1")
			status, started, _ := strings.Cut(strings.TrimSpace(res.Stdout()), " ")
			return started != before, fmt.Sprintf("%s, started at %s (before the kill: %s) %s", status, started, before, res.Stderr())
		})
		waitHealth(t, "magents-agent-1", "healthy", 60*time.Second)
		// The new start has its own session.
		docker("exec", "magents-agent-1", "tmux", "has-session", "-t", "claude").Assert(t, icmd.Success)
		docker("inspect", "-f", "{{.RestartCount}}", "magents-agent-1").Assert(t, icmd.Expected{Out: "1"})
	})

	t.Run("down --volumes removes the volumes, never the workspace", func(t *testing.T) {
		e.magents("down", "--volumes").Assert(t, icmd.Success)
		for _, v := range []string{"magents_agent-1-config", "magents_agent-2-config", "magents_agent-3-config"} {
			docker("volume", "inspect", v).Assert(t, icmd.Expected{ExitCode: 1})
		}
		if _, err := os.Stat(filepath.Join(e.dir, ".env.magents")); err != nil {
			t.Errorf("the workspace lost its env file: %v", err)
		}
	})
}

func TestUpRefusesBadInput(t *testing.T) {
	anyEngine(t, "up's validation")
	// A root-owned workspace the image's user cannot write is refused, with the way out.
	rootOwned := t.TempDir()
	if err := os.Chmod(rootOwned, 0o755); err != nil {
		t.Fatal(err)
	}
	dockerIn(rootOwned, nil, "magents", "up").Assert(t, icmd.Expected{ExitCode: 1, Err: "the agents run as 1000:1000 and cannot write " + rootOwned + " (owned by 0:0, mode 0755): run them as a user who can, with --user UID:GID"})
	if _, err := os.Stat(filepath.Join(rootOwned, "docker-compose.claude.yml")); err == nil {
		t.Error("a compose file was written despite the error")
	}

	dir := t.TempDir()
	if err := os.Chmod(filepath.Dir(dir), 0o755); err != nil { // git runs as the owner: let it in
		t.Fatal(err)
	}
	if err := os.Chown(dir, workspaceUID, workspaceUID); err != nil {
		t.Fatal(err)
	}
	cases := map[string]struct {
		args []string
		want string
	}{
		"zero agents":       {[]string{"up", "--agents", "0"}, "invalid number of agents 0"},
		"negative agents":   {[]string{"up", "--agents", "-1"}, "invalid number of agents -1"},
		"not a number":      {[]string{"up", "--agents", "abc"}, `invalid argument "abc"`}, // a flag error: 125, as docker
		"too many":          {[]string{"up", "--agents", "257"}, "give 1 to 256"},
		"missing workspace": {[]string{"up", "--workspace", "/nonexistent/ws"}, "does not exist"},
		"bad project":       {[]string{"-p", "Bad Name!", "up"}, "invalid project name"},
		"bad memory":        {[]string{"up", "--memory", "lots"}, "invalid memory size"},
		"bad user":          {[]string{"up", "--user", "root"}, "numeric UID:GID"},
		"unwritable output": {[]string{"-f", "/proc/docker-compose.claude.yml", "up"}, "cannot write the compose file"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			res := dockerIn(dir, nil, append([]string{"magents"}, c.args...)...)
			code := 1
			if name == "not a number" {
				code = 125 // the docker CLI's exit code for a flag it cannot parse
			}
			res.Assert(t, icmd.Expected{ExitCode: code, Err: c.want})
			if _, err := os.Stat(filepath.Join(dir, "docker-compose.claude.yml")); err == nil {
				t.Error("a compose file was written despite the error")
			}
		})
	}
	// An engine that does not answer: said first, and nothing is written.
	dockerIn(dir, []string{"DOCKER_HOST=unix://" + filepath.Join(dir, "no-engine.sock")}, "magents", "up").
		Assert(t, icmd.Expected{ExitCode: 1, Err: "no Docker engine answers"})
	for _, p := range []string{"docker-compose.claude.yml", ".magents"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err == nil {
			t.Errorf("%s was written though no engine answered", p)
		}
	}
	// An env file that does not parse, or that holds a credential, is refused.
	if err := os.WriteFile(filepath.Join(dir, ".env.magents"), []byte("ANTHROPIC_API_KEY=sk-ant-api03-oops\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dockerIn(dir, nil, "magents", "up").Assert(t, icmd.Expected{ExitCode: 1, Err: "holds ANTHROPIC_API_KEY"})
	if err := os.WriteFile(filepath.Join(dir, ".env.magents"), []byte("FOO='unterminated\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dockerIn(dir, nil, "magents", "up").Assert(t, icmd.Expected{ExitCode: 1, Err: "does not parse"})
	if _, err := os.Stat(filepath.Join(dir, "docker-compose.claude.yml")); err == nil {
		t.Error("a compose file was written despite the error")
	}
}

// --dev adds the guide's development container, on the dev image, next to the agents.
func TestFleetDevService(t *testing.T) {
	anyEngine(t, "the dev service's definition")
	parallelSuite(t)
	e := newFleetEnv(t, "dev")
	ensureImage(t, "dev")
	e.magents("-p", "devtest", "up", "--dev").Assert(t, icmd.Success)
	t.Cleanup(func() { e.magents("-p", "devtest", "down", "--volumes") })
	docker("inspect", "-f", "{{.Config.Image}} {{.State.Health.Status}}", "devtest-claude-dev").
		Assert(t, icmd.Expected{Out: "magents/claude-agent:dev healthy"})
	docker("exec", "devtest-claude-dev", "node", "--version").Assert(t, icmd.Success)
	docker("exec", "devtest-agent-1", "tmux", "ls").Assert(t, icmd.Expected{Out: "claude:"})
	// The project's file answers to its own name only.
	e.magents("-p", "other", "ps").Assert(t, icmd.Expected{ExitCode: 1, Err: "belongs to project devtest"})
}

// jsonLines decodes output written as docker's --format json writes a list: one JSON
// object per line.
func jsonLines[T any](t *testing.T, out string) []T {
	t.Helper()
	var list []T
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var v T
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("not one JSON object per line: %v\n%s", err, out)
		}
		list = append(list, v)
	}
	return list
}

// plantSequences is a script an agent runs as its user: it lets its own tmux pass
// sequences through and set the clipboard, then writes to its session's pane a clipboard
// write, a passed-through one and a window title, then marker as text; STAGED when done.
func plantSequences(marker string) string {
	return `tmux set -g allow-passthrough on && tmux set -s set-clipboard on && tmux set -g set-titles on &&
		tty=$(tmux display -p -t claude '#{pane_tty}') &&
		printf '\033]52;c;UExBTlRFRA==\007\033Ptmux;\033\033]52;c;UExBTlRFRA==\007\033\\\033]0;PLANTED-TITLE\007` + marker + `\n' > "$tty" && echo STAGED`
}
