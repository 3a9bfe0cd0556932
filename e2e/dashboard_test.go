//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"gotest.tools/v3/icmd"

	"github.com/docker-magents/docker-magents/internal/anthropictest"
)

// The dashboard in a real browser (Debian's chromium, headless, driven by chromedp): the
// printed address loads the page and its token leaves the address bar; without the token,
// or from another origin, the dashboard refuses; two agents' states change on the page as
// tasks are typed into them and their turns end; a task queued from the page is dispatched
// and done, and the <script> in its result stays text; its diff shows the <script> the
// agent committed as text, and merging it from the page lands it on the host; an agent's
// terminal, typed into, shows Claude's answer, and a watched one takes no keys; the egress
// proxy's refusals show up in the page's log.
func TestDashboard(t *testing.T) {
	anyEngine(t, "the dashboard is docker-magents' own")
	parallelSuite(t)
	browser := chromium(t)
	nonce := fmt.Sprint(time.Now().UnixNano())
	e := newFleetEnvWith(t, nonce, func(r anthropictest.Request) anthropictest.Reply {
		if r.HasTools() && r.Mentions("typed into a watch") {
			return anthropictest.Reply{Text: "a read-only terminal typed " + nonce}
		}
		if r.HasTools() && r.Mentions("terminal ping") {
			return anthropictest.Reply{Text: "terminal pong " + nonce}
		}
		if r.HasTools() && r.Mentions("queued dashboard task") {
			if result, ok := r.ToolResult(); ok && strings.Contains(result, "page.html") {
				return anthropictest.Reply{Text: "And the Go.", ToolUse: &anthropictest.ToolUse{
					Name: "Write", Input: map[string]any{"file_path": "/workspace/hello.go", "content": helloGo},
				}}
			} else if ok {
				return anthropictest.Reply{Text: "<script>window.pwned=1</script> queued " + nonce}
			}
			return anthropictest.Reply{Text: "Writing it.", ToolUse: &anthropictest.ToolUse{
				Name: "Write", Input: map[string]any{"file_path": "/workspace/page.html", "content": "<script>window.pwned=1</script>\n"},
			}}
		}
		if r.HasTools() && r.Mentions("dashboard task") {
			// Long enough for the page to show the agent at work.
			return anthropictest.Reply{Text: "done " + nonce, Delay: 4 * time.Second}
		}
		return anthropictest.Reply{Text: "Test title"}
	}).inProject("dashe2e")
	git := e.initRepo()
	t.Cleanup(func() { e.magents("down", "--volumes", "--force") })
	removeProjectLeftovers(t, "dashe2e")
	e.magents("up", "--agents", "2").Assert(t, icmd.Success)
	e.magents("wait", "--for", "idle", "--timeout", "120s").Assert(t, icmd.Success)

	dash := startDashboard(t, e.dir, nil, "dashe2e")
	addr, base := dash.addr, dash.base
	if rep := dash.fleet(t); rep.Report.Where != "compose" || len(rep.Report.Agents) != 2 || !rep.Report.Branches {
		t.Errorf("the dashboard's report: %+v", rep)
	}

	// Refused: no token; a wrong one; another host name for this address; another origin.
	for _, c := range []struct {
		url, host, origin, method string
	}{
		{base + "/", "", "", http.MethodGet},
		{base + "/?token=" + strings.Repeat("0", 64), "", "", http.MethodGet},
		{addr, "rebound.example:" + strings.Split(base, ":")[2], "", http.MethodGet},
		{base + "/api/fleet", "", "http://evil.example", http.MethodPost},
	} {
		req, _ := http.NewRequest(c.method, c.url, nil)
		if c.host != "" {
			req.Host = c.host
		}
		if c.origin != "" {
			req.Header.Set("Origin", c.origin)
			req.AddCookie(dash.session(t))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s %s (Host %q, Origin %q): %s", c.method, c.url, c.host, c.origin, resp.Status)
		}
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browser), chromedp.NoSandbox,
		chromedp.WindowSize(1400, 700))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	row := func(agent, state string) chromedp.CSS {
		return chromedp.CSS(fmt.Sprintf(`tr[data-agent=%q] td.state-%s`, agent, state))
	}
	// The token works once, and the test's own requests traded it: the browser is given
	// that session, as the browser that first opened the address would have it, and
	// opening the printed address again takes it to the page.
	session := dash.session(t)
	if err := chromedp.Do(ctx); err != nil { // the browser, to set the cookie in
		t.Fatalf("starting chromium: %v", err)
	}
	httpOnly := true
	if _, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{
		Name: session.Name, Value: session.Value, URL: base + "/", HTTPOnly: &httpOnly, SameSite: network.CookieSameSiteStrict,
	}); err != nil {
		t.Fatalf("giving the browser the session: %v", err)
	}
	if err := chromedp.Do(ctx,
		chromedp.Navigate(addr),
		chromedp.WaitVisible(row("agent-1", "idle")),
		chromedp.WaitVisible(row("agent-2", "idle")),
	); err != nil {
		t.Fatalf("loading the dashboard: %v", err)
	}
	location, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(location, "token") {
		t.Errorf("the token stayed in the address bar: %s", location)
	}
	// A task typed into each agent: the page shows both at work, then idle again.
	e.magents("task", "agent-1", "the first dashboard task").Assert(t, icmd.Success)
	e.magents("task", "agent-2", "the second dashboard task").Assert(t, icmd.Success)
	if err := chromedp.Do(ctx,
		chromedp.WaitVisible(row("agent-1", "working")),
		chromedp.WaitVisible(row("agent-2", "working")),
	); err != nil {
		t.Fatalf("the page did not show the agents at work: %v", err)
	}
	screenshot(t, ctx, "dashboard-fleet.png")
	if err := chromedp.Do(ctx,
		chromedp.WaitVisible(row("agent-1", "idle")),
		chromedp.WaitVisible(row("agent-2", "idle")),
	); err != nil {
		t.Fatalf("the page did not show the agents idle again: %v", err)
	}

	// A task queued from the page: an idle agent takes it and it ends done, with Claude's
	// answer, which holds a <script> — shown as text, never run.
	if err := chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#task-text"), "the queued dashboard task"),
		chromedp.Click(chromedp.CSS("#task-submit")),
		chromedp.WaitVisible(chromedp.CSS(`tr[data-task="task-1"] td.state-done`)),
	); err != nil {
		t.Fatalf("the task queued from the page did not end done: %v\n%s", err, e.magents("queue", "ls").Combined())
	}
	result, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(`tr[data-task="task-1"] td.result`)))
	if err != nil || !strings.Contains(result, "<script>window.pwned=1</script> queued "+nonce) {
		t.Errorf("task-1's result on the page: %q %v", result, err)
	}
	pwned, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.pwned === 1`))
	if err != nil || pwned {
		t.Errorf("the <script> of an agent's answer ran in the page (%v)", err)
	}
	screenshot(t, ctx, "dashboard-queue.png")

	// What the gateway counted, as charts: a bar per agent, the fleet's tokens over time.
	if err := chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.CSS(`#usage`)),
		chromedp.WaitVisible(chromedp.CSS(`#cost-by-agent rect.bar[data-agent="agent-2"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#tokens-over-time polyline.series`)),
	); err != nil {
		t.Fatalf("the usage charts: %v", err)
	}
	screenshot(t, ctx, "dashboard-usage.png")

	// The task's branch, file by file: the <script> the agent committed is text. Merging it
	// from the page lands it in the host's repository, as docker magents merge does.
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`tr[data-task="task-1"] button.diff`)),
		chromedp.WaitVisible(chromedp.CSS(`#diff-files details.file pre span.line-add`)),
	); err != nil {
		t.Fatalf("task-1's diff: %v", err)
	}
	diff, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(`#diff-files`)))
	if err != nil || !strings.Contains(diff, "page.html") || !strings.Contains(diff, "+<script>window.pwned=1</script>") ||
		!strings.Contains(diff, "+"+strings.Split(helloGo, "\n")[0]) {
		t.Errorf("task-1's diff on the page: %q %v", diff, err)
	}
	// Coloured by each file's language, token by token, as text: the Go file's keywords
	// and strings, the page's tags.
	tokens, err := chromedp.Run(ctx, chromedp.Evaluate[map[string][]string](`(() => {
		const out = {};
		for (const pre of document.querySelectorAll("#diff-files pre[data-language]")) {
			out[pre.dataset.language] = [...pre.querySelectorAll("span[class^=tok-]")].map((s) => s.className + ":" + s.textContent);
		}
		return out;
	})()`))
	if err != nil || !slices.Contains(tokens["go"], "tok-keyword:func") || !slices.Contains(tokens["go"], `tok-string:"fmt"`) ||
		!slices.Contains(tokens["markup"], "tok-punctuation:<") || !slices.Contains(tokens["markup"], "tok-tag:script") {
		t.Errorf("task-1's diff is not coloured by language: %v %v", tokens, err)
	}
	if n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#diff-files script").length`)); err != nil || n != 0 {
		t.Errorf("the diff made %d script elements (%v)", n, err)
	}
	screenshot(t, ctx, "dashboard-diff.png")
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`#merge`)),
		chromedp.WaitVisible(chromedp.Search(`//span[@id="merge-message"][contains(., "Merged magents/task-1.")]`)),
	); err != nil {
		t.Fatalf("merging task-1 from the page: %v", err)
	}
	if got := git("show", "HEAD:hello.go"); got+"\n" != helloGo {
		t.Errorf("after the merge the host has hello.go %q", got)
	}
	if got := git("show", "HEAD:page.html"); got != "<script>window.pwned=1</script>" {
		t.Errorf("after the merge the host has page.html %q", got)
	}
	if pwned, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.pwned === 1`)); err != nil || pwned {
		t.Errorf("the <script> of an agent's diff ran in the page (%v)", err)
	}

	// Terminals side by side: agent-1's tmux session, typed into, answers from the
	// Messages API test double on its screen; agent-2's, watched, takes no keys.
	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS(`tr[data-agent="agent-1"] button.terminal`)),
		chromedp.Click(chromedp.CSS(`tr[data-agent="agent-2"] button.watch`)),
		chromedp.WaitVisible(chromedp.CSS(`#terminal-agent-1 .xterm-rows`)),
		chromedp.WaitVisible(chromedp.CSS(`#terminal-agent-2-ro .xterm-rows`)),
		// A pause, not a wait for an event: the sessions redraw at the terminals' size, which
		// the page sends as a socket opens and again whenever a panel is resized (a
		// ResizeObserver: the second panel joining resizes the first), and nothing in the DOM
		// marks the last redraw, so there is no condition to wait on.
		chromedp.Sleep(2*time.Second),
		typeInto(`#terminal-agent-2-ro textarea.xterm-helper-textarea`, "typed into a watch"),
		typeInto(`#terminal-agent-1 textarea.xterm-helper-textarea`, "terminal ping"),
	); err != nil {
		t.Fatalf("the terminals: %v", err)
	}
	waitFor(t, 60*time.Second, "Claude's answer in agent-1's terminal on the page", func() (bool, string) {
		screen, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(`#terminal-agent-1 .xterm-rows`)))
		if err != nil {
			return false, fmt.Sprintf("%q %v", screen, err)
		}
		return strings.Contains(screen, "terminal pong "+nonce), screen
	})
	screenshot(t, ctx, "dashboard-terminals.png")

	// The egress log: what an agent asked for and the proxy refused shows up on the page.
	docker("exec", "dashe2e-agent-2", "timeout", "10", "bash", "-c",
		`exec 3<>/dev/tcp/127.0.0.1/3128 && printf 'CONNECT refused-by-dashboard.example:443 HTTP/1.1\r\nHost: refused-by-dashboard.example:443\r\n\r\n' >&3 && head -1 <&3`)
	if err := chromedp.Do(ctx,
		chromedp.WaitVisible(chromedp.Search(`//table[@id="egress-log"]//tr[@data-agent="agent-2"]/td[contains(., "refused-by-dashboard.example")]`)),
	); err != nil {
		t.Fatalf("the refusal is not in the page's egress log: %v", err)
	}
	screenshot(t, ctx, "dashboard-egress.png")
	for _, r := range e.api.Requests() {
		if r.Mentions("typed into a watch") {
			t.Error("keys typed into a read-only terminal reached Claude")
		}
	}
}

// typeInto types text into the element, as a keyboard's input method commits it, and
// Enter. (chromedp's SendKeys sends each printable key as a keydown with text and a char
// event, which xterm.js takes as two keys.)
func typeInto(sel, text string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		if _, err := chromedp.Focus(chromedp.CSS(sel))(ctx, t); err != nil {
			return err
		}
		if _, err := cdp.Call(ctx, t, input.InsertText, input.InsertTextParams{Text: text}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, t, input.DispatchKeyEvent, input.DispatchKeyEventParams{
			Type: input.DispatchKeyEventTypeRawKeyDown, Key: "Enter", Code: "Enter", WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13,
		})
		if err == nil {
			_, err = cdp.Call(ctx, t, input.DispatchKeyEvent, input.DispatchKeyEventParams{
				Type: input.DispatchKeyEventTypeChar, Key: "Enter", Code: "Enter", Text: "\r", WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13,
			})
		}
		if err == nil {
			_, err = cdp.Call(ctx, t, input.DispatchKeyEvent, input.DispatchKeyEventParams{
				Type: input.DispatchKeyEventTypeKeyUp, Key: "Enter", Code: "Enter", WindowsVirtualKeyCode: 13, NativeVirtualKeyCode: 13,
			})
		}
		return err
	})
}

// chromium is the browser the dashboard's tests drive: Debian's chromium (hack/install-engine.sh).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" || os.Getenv("MAGENTS_REQUIRE_TOOLS") == "1" {
		t.Fatal("no chromium: hack/install-engine.sh installs Debian's")
	}
	t.Skip("no chromium to drive: apt-get install chromium (hack/install-engine.sh does)")
	return ""
}

// screenshot saves the page, a PNG (quality 100), as a test artifact under e2e/artifacts/
// (kept out of git).
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	dir := filepath.Join("artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: e2e/%s", path)
}

// helloGo is the Go file the dashboard's queued task writes, for its diff's colours.
const helloGo = `package main

import "fmt"

// main says hello.
func main() {
	fmt.Println("hello", 42)
}
`
