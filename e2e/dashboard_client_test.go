//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// dashboardServer is a running docker magents dashboard: the address it printed (with its
// token), its base URL and the token; and the session the test's own requests carry,
// which the first of them trades the token for (it works once).
type dashboardServer struct {
	addr, base, token string
	once              sync.Once
	cookie            *http.Cookie
}

// session is the test's session of the dashboard, the token traded for it on first use
// as a browser's first load trades it.
func (d *dashboardServer) session(t *testing.T) *http.Cookie {
	t.Helper()
	d.once.Do(func() {
		client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := client.Get(d.addr)
		if err != nil {
			return
		}
		resp.Body.Close()
		for _, c := range resp.Cookies() {
			if strings.HasPrefix(c.Name, "magents_dashboard_") {
				d.cookie = c
			}
		}
	})
	if d.cookie == nil {
		t.Fatalf("the dashboard at %s gave no session for its token", d.base)
	}
	return d.cookie
}

// startDashboard runs docker magents -p PROJECT dashboard FLAGS... in dir, with env added
// to the test's, until the test ends.
func startDashboard(t *testing.T, dir string, env []string, project string, flags ...string) *dashboardServer {
	t.Helper()
	cmd := exec.Command("docker", append([]string{"magents", "-p", project, "dashboard", "--interval", "300ms"}, flags...)...)
	cmd.Dir, cmd.Env = dir, append(os.Environ(), env...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		_ = cmd.Wait()
		t.Fatalf("docker magents dashboard: %v\n%s", err, stderr.String())
	}
	addr := regexp.MustCompile(`http://127\.0\.0\.1:\d+/\?token=[0-9a-f]{64}`).FindString(line)
	if addr == "" {
		t.Fatalf("dashboard printed %q", line)
	}
	return &dashboardServer{addr: addr, base: addr[:strings.Index(addr, "/?")], token: addr[strings.Index(addr, "token=")+len("token="):]}
}

// dashboardAgent is what the dashboard's report says of an agent.
type dashboardAgent struct {
	Agent, State, Detail, Health, ContainerState string
	Tokens                                       int
}

// dashboardReport is the dashboard's report of the fleet, as the page gets it.
type dashboardReport struct {
	Report struct {
		Project, Where string
		Agents         []dashboardAgent
		HasQueue       bool
		Queue          []struct{ ID, State string }
		QueueError     string
		Branches       bool
	}
	Error string
}

// fleet is the dashboard's latest report, as /api/fleet serves it to the page.
func (d *dashboardServer) fleet(t *testing.T) dashboardReport {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, d.base+"/api/fleet", nil)
	req.AddCookie(d.session(t))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var rep dashboardReport
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/fleet: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
		t.Fatal(err)
	}
	return rep
}

// waitFleet waits until the dashboard's report satisfies ok, and returns it; when it does
// not in time, the test fails with the report and what explain says.
func (d *dashboardServer) waitFleet(t *testing.T, timeout time.Duration, ok func(dashboardReport) bool, explain func() string) dashboardReport {
	t.Helper()
	var rep dashboardReport
	// explain is asked once, when the wait fails: waitFor's t.Fatalf runs this on its way out.
	waited := false
	defer func() {
		if !waited {
			t.Logf("what the test waits for is not there:\n%s", explain())
		}
	}()
	waitFor(t, timeout, "the dashboard's report to come to what the test waits for", func() (bool, string) {
		rep = d.fleet(t)
		return ok(rep), fmt.Sprintf("%+v", rep)
	})
	waited = true
	return rep
}

// terminal opens agent's terminal as the page does (a websocket from the dashboard's own
// origin, its size sent first), types keys when given, and waits until the screen's text
// (escapes read as a terminal would) shows want; it returns that text.
func (d *dashboardServer) terminal(t *testing.T, agent, keys, want string, timeout time.Duration) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c := d.session(t)
	header := http.Header{"Origin": {d.base}, "Cookie": {c.Name + "=" + c.Value}}
	ws, _, err := websocket.Dial(ctx, strings.Replace(d.base, "http://", "ws://", 1)+"/api/terminal/"+agent, &websocket.DialOptions{HTTPHeader: header})
	if err != nil {
		t.Fatalf("opening %s's terminal: %v", agent, err)
	}
	defer ws.CloseNow()
	if err := ws.Write(ctx, websocket.MessageText, []byte(`{"cols":150,"rows":40}`)); err != nil {
		t.Fatal(err)
	}
	if keys != "" {
		if err := ws.Write(ctx, websocket.MessageBinary, []byte(keys)); err != nil {
			t.Fatal(err)
		}
	}
	// The screen is read as it comes, until the terminal closes or this returns.
	screen := &syncBuffer{}
	var (
		mu      sync.Mutex
		readErr error
	)
	go func() {
		for {
			_, msg, err := ws.Read(context.Background())
			if err != nil {
				mu.Lock()
				readErr = err
				mu.Unlock()
				return
			}
			_, _ = screen.Write(msg)
		}
	}()
	deadline, _ := ctx.Deadline()
	return waitFor(t, time.Until(deadline).Truncate(time.Millisecond), fmt.Sprintf("%s's terminal to show %q", agent, want), func() (bool, string) {
		// The error first: the screen read after it holds all the terminal sent.
		mu.Lock()
		err := readErr
		mu.Unlock()
		text := screenText(screen.String())
		if strings.Contains(text, want) {
			return true, text
		}
		if err != nil {
			t.Fatalf("%s's terminal did not show %q: %v\nscreen:\n%s", agent, want, err, tail(text, 40))
		}
		return false, tail(text, 40)
	})
}
