package dashboard

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// serve runs a dashboard over read's reports and returns its base URL and token.
func serve(t *testing.T, read func(context.Context) (any, error)) (base, token string) {
	return serveWith(t, read, nil, nil)
}

// serveWith is serve with a queue the page may change and work it may merge.
func serveWith(t *testing.T, read func(context.Context) (any, error), queue Queue, work Work) (base, token string) {
	t.Helper()
	token, err := NewToken()
	if err != nil {
		t.Fatal(err)
	}
	return serveRead(t, token, read, Options{Queue: queue, Work: work})
}

// serveOpts serves the fleet report with o.
func serveOpts(t *testing.T, token string, o Options) (base, tok string) {
	return serveRead(t, token, fleetReport, o)
}

func serveRead(t *testing.T, token string, read func(context.Context) (any, error), o Options) (string, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(New(ln.Addr(), token, NewHub(read, 50*time.Millisecond), o))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL, token
}

var sessions sync.Map // base URL → *http.Cookie

// session is a session of the dashboard at base: the first call trades its token (which
// works once), later calls reuse the cookie it gave.
func session(t *testing.T, base, token string) *http.Cookie {
	t.Helper()
	if c, ok := sessions.Load(base); ok {
		return c.(*http.Cookie)
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/?token="+token, nil)
	resp := get(t, req)
	for _, c := range resp.Cookies() {
		if strings.HasPrefix(c.Name, "magents_dashboard_") {
			sessions.Store(base, c)
			return c
		}
	}
	t.Fatalf("trading the token: %s, no session cookie", resp.Status)
	return nil
}

// noRedirects is a client that shows redirects rather than following them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func get(t *testing.T, req *http.Request) *http.Response {
	t.Helper()
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func fleetReport(context.Context) (any, error) {
	return map[string]any{"Project": "p", "Agents": []any{map[string]any{"Agent": "agent-1", "State": "idle"}}}, nil
}

func TestTokenBecomesAStrictCookie(t *testing.T) {
	base, token := serve(t, fleetReport)
	for _, u := range []string{base + "/", base + "/?token=wrong", base + "/api/fleet", base + "/static/app.js"} {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		if resp := get(t, req); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s without the token: %s", u, resp.Status)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, base+"/?token="+token, nil)
	resp := get(t, req)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
		t.Fatalf("first load: %s, Location %q (the token must leave the address)", resp.Status, resp.Header.Get("Location"))
	}
	// A session of its own, never the token, in a cookie named for the dashboard's port
	// (cookies are not bound to ports).
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if strings.HasPrefix(c.Name, "magents_dashboard_") {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteStrictMode || cookie.Value == token || len(cookie.Value) != 64 ||
		cookie.Name != CookieName(base[strings.LastIndex(base, ":")+1:]) {
		t.Fatalf("cookie: %+v", cookie)
	}
	// The token works once: a second browser is refused; the one with the session goes to
	// the page; the token as a cookie is nothing.
	req, _ = http.NewRequest(http.MethodGet, base+"/?token="+token, nil)
	if resp := get(t, req); resp.StatusCode != http.StatusForbidden {
		t.Errorf("the token's second use: %s", resp.Status)
	}
	req, _ = http.NewRequest(http.MethodGet, base+"/?token="+token, nil)
	req.AddCookie(cookie)
	if resp := get(t, req); resp.StatusCode != http.StatusSeeOther || len(resp.Cookies()) != 0 {
		t.Errorf("the printed address opened again by the browser that has a session: %s %v", resp.Status, resp.Cookies())
	}
	req, _ = http.NewRequest(http.MethodGet, base+"/api/fleet", nil)
	req.AddCookie(&http.Cookie{Name: cookie.Name, Value: token})
	if resp := get(t, req); resp.StatusCode != http.StatusForbidden {
		t.Errorf("the token as a cookie: %s", resp.Status)
	}
	req, _ = http.NewRequest(http.MethodGet, base+"/", nil)
	req.AddCookie(cookie)
	resp = get(t, req)
	body, _ := io.ReadAll(resp.Body)
	csp := resp.Header.Get("Content-Security-Policy")
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "/static/app.js") {
		t.Fatalf("the page: %s", resp.Status)
	}
	if !strings.Contains(csp, "script-src 'self';") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("Content-Security-Policy: %q", csp)
	}
	// No inline script or style in the page: every script comes from a file.
	for _, m := range regexp.MustCompile(`<script([^>]*)>([^<]*)</script>`).FindAllStringSubmatch(string(body), -1) {
		if !strings.Contains(m[1], "src=") || strings.TrimSpace(m[2]) != "" {
			t.Errorf("an inline script: %s", m[0])
		}
	}
	if regexp.MustCompile(`<style|\sstyle=|\son[a-z]+=`).Match(body) {
		t.Errorf("the page has inline style or handlers:\n%s", body)
	}
	req, _ = http.NewRequest(http.MethodGet, base+"/api/fleet", nil)
	req.AddCookie(cookie)
	if b, _ := io.ReadAll(get(t, req).Body); !strings.Contains(string(b), `"agent-1"`) {
		t.Errorf("/api/fleet: %s", b)
	}
}

func TestHostAndOriginAreChecked(t *testing.T) {
	base, token := serve(t, fleetReport)
	cookie := session(t, base, token)
	// DNS rebinding: another name for loopback is not this dashboard, cookie or not.
	req, _ := http.NewRequest(http.MethodGet, base+"/api/fleet", nil)
	req.Host = "evil.example:" + strings.Split(base, ":")[2]
	req.AddCookie(cookie)
	if resp := get(t, req); resp.StatusCode != http.StatusForbidden {
		t.Errorf("a foreign Host: %s", resp.Status)
	}
	// What changes anything, or opens a websocket, must come from the dashboard's page.
	for _, origin := range []string{"", "http://evil.example", "null"} {
		for _, method := range []string{http.MethodPost, http.MethodGet} {
			req, _ := http.NewRequest(method, base+"/api/fleet", nil)
			req.AddCookie(cookie)
			if method == http.MethodGet {
				req.Header.Set("Upgrade", "websocket")
			}
			if origin != "" {
				req.Header.Set("Origin", origin)
			}
			if resp := get(t, req); resp.StatusCode != http.StatusForbidden {
				t.Errorf("%s (upgrade %q) from Origin %q: %s", method, req.Header.Get("Upgrade"), origin, resp.Status)
			}
		}
	}
	req, _ = http.NewRequest(http.MethodPost, base+"/api/fleet", nil)
	req.AddCookie(cookie)
	req.Header.Set("Origin", base)
	if resp := get(t, req); resp.StatusCode == http.StatusForbidden {
		t.Errorf("the dashboard's own Origin was refused")
	}
}

// However many tabs watch, the fleet is read once per interval; reads stop with the last.
func TestTabsShareOneReader(t *testing.T) {
	var reads atomic.Int64
	base, token := serve(t, func(context.Context) (any, error) {
		n := reads.Add(1)
		return map[string]any{"Agents": []any{map[string]any{"Agent": "agent-1", "State": []string{"idle", "working"}[n/4%2]}}}, nil
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := make(chan string, 100)
	for range 5 {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/events", nil)
		req.AddCookie(session(t, base, token))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			defer resp.Body.Close()
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				if strings.HasPrefix(sc.Text(), "data: ") {
					events <- sc.Text()
				}
			}
		}()
	}
	time.Sleep(600 * time.Millisecond)
	got := reads.Load()
	// 600ms at one read per 50ms is about 12 reads for all five tabs together.
	if got < 5 || got > 20 {
		t.Errorf("%d reads for five tabs in 600ms: each tab reads on its own", got)
	}
	seen := map[string]bool{}
	for len(events) > 0 {
		e := <-events
		seen[e[strings.Index(e, `"State":`):]] = true
	}
	if len(seen) < 2 {
		t.Errorf("the tabs did not see the state change: %v", seen)
	}
	cancel()
	time.Sleep(200 * time.Millisecond)
	after := reads.Load()
	time.Sleep(300 * time.Millisecond)
	if reads.Load() != after {
		t.Error("the reads go on with no tab open")
	}
}

// The page's own request starts the reads, so that the fleet is read while the page loads
// its scripts; a tab that comes after the reads stopped waits for a new read, never
// starting from what was read before.
func TestThePageWarmsTheReaderAndLaterTabsReadAnew(t *testing.T) {
	var reads atomic.Int64
	base, token := serve(t, func(context.Context) (any, error) {
		return map[string]any{"Read": reads.Add(1)}, nil
	})
	req, _ := http.NewRequest(http.MethodGet, base+"/", nil)
	req.AddCookie(session(t, base, token))
	if resp := get(t, req); resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /: %s", resp.Status)
	}
	time.Sleep(30 * time.Millisecond) // within the first interval (50ms)
	if reads.Load() == 0 {
		t.Error("loading the page did not start a read of the fleet")
	}
	time.Sleep(300 * time.Millisecond) // the reads stop two intervals after the page's request
	stopped := reads.Load()
	time.Sleep(200 * time.Millisecond)
	if reads.Load() != stopped {
		t.Fatal("the reads go on with no tab open")
	}
	req, _ = http.NewRequest(http.MethodGet, base+"/api/fleet", nil)
	req.AddCookie(session(t, base, token))
	var got struct{ Report struct{ Read int64 } }
	if err := json.NewDecoder(get(t, req).Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if got.Report.Read <= stopped {
		t.Errorf("a later tab got read %d, from before the reads stopped (%d)", got.Report.Read, stopped)
	}
}

// fakeQueue records what the page asked of the queue.
type fakeQueue struct{ asked []string }

func (q *fakeQueue) Add(_ context.Context, prompt string) (any, error) {
	q.asked = append(q.asked, "add "+prompt)
	return []map[string]string{{"ID": "task-1"}}, nil
}

func (q *fakeQueue) Cancel(_ context.Context, id string) (any, error) {
	q.asked = append(q.asked, "cancel "+id)
	return nil, errors.New(id + " is already done")
}

func (q *fakeQueue) Retry(_ context.Context, id string) (any, error) {
	q.asked = append(q.asked, "retry "+id)
	return map[string]string{"ID": id}, nil
}

func TestQueueChangesNeedTheDashboardsOrigin(t *testing.T) {
	q := &fakeQueue{}
	base, token := serveWith(t, fleetReport, q, nil)
	post := func(path, body, origin string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
		req.AddCookie(session(t, base, token))
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp := get(t, req)
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, _ := post("/api/queue", `{"Prompt":"from elsewhere"}`, "http://evil.example"); code != http.StatusForbidden || len(q.asked) != 0 {
		t.Fatalf("a task from another origin: %d %v", code, q.asked)
	}
	if code, body := post("/api/queue", `{"Prompt":"Fix the parser"}`, base); code != http.StatusOK || !strings.Contains(body, "task-1") {
		t.Errorf("add: %d %s", code, body)
	}
	if code, _ := post("/api/queue", `{"Prompt":"  "}`, base); code != http.StatusBadRequest {
		t.Errorf("an empty task: %d", code)
	}
	if code, body := post("/api/queue/task-1/cancel", "", base); code != http.StatusConflict || !strings.Contains(body, "already done") {
		t.Errorf("cancel: %d %s", code, body)
	}
	if code, _ := post("/api/queue/task-2/retry", "", base); code != http.StatusOK {
		t.Errorf("retry: %d", code)
	}
	if strings.Join(q.asked, "; ") != "add Fix the parser; cancel task-1; retry task-2" {
		t.Errorf("asked: %v", q.asked)
	}
}

type fakeWork struct{ merged []string }

func (w *fakeWork) Diff(_ context.Context, who string) (string, error) {
	if who != "agent-1" {
		return "", errors.New("no " + who)
	}
	return "diff --git a/x b/x\n+<script>alert(1)</script>\n", nil
}

func (w *fakeWork) Merge(_ context.Context, who string) (string, error) {
	w.merged = append(w.merged, who)
	return "Fast-forward", nil
}

// A diff is plain text (the page puts it on as text); a merge needs the dashboard's origin.
func TestDiffIsTextAndMergeNeedsTheOrigin(t *testing.T) {
	work := &fakeWork{}
	base, token := serveWith(t, fleetReport, nil, work)
	do := func(method, path, origin string) (*http.Response, string) {
		req, _ := http.NewRequest(method, base+path, nil)
		req.AddCookie(session(t, base, token))
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp := get(t, req)
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, body := do(http.MethodGet, "/api/diff/agent-1", "")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") || !strings.Contains(body, "<script>") ||
		resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("diff: %s %q %q", resp.Status, resp.Header.Get("Content-Type"), body)
	}
	if resp, body := do(http.MethodGet, "/api/diff/agent-9", ""); resp.StatusCode != http.StatusConflict || !strings.Contains(body, "no agent-9") {
		t.Errorf("diff of another: %s %s", resp.Status, body)
	}
	if resp, _ := do(http.MethodPost, "/api/merge/agent-1", "http://evil.example"); resp.StatusCode != http.StatusForbidden || len(work.merged) != 0 {
		t.Errorf("a merge from another origin: %s %v", resp.Status, work.merged)
	}
	if resp, body := do(http.MethodPost, "/api/merge/agent-1", base); resp.StatusCode != http.StatusOK || !strings.Contains(body, "Fast-forward") {
		t.Errorf("merge: %s %s", resp.Status, body)
	}
}
