package egress

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Each agent reports only itself, on its own socket; the proxy's port reads every report
// and writes none; what is not a bounded JSON object is refused.
func TestStatusReports(t *testing.T) {
	p := New(nil, &strings.Builder{})
	one, _ := serveAgent(t, p, "agent-1")
	two, _ := serveAgent(t, p, "agent-2")
	put := func(c *http.Client, body string, base ...string) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPut, append(base, "http://egress-proxy")[0]+"/magents/status", strings.NewReader(body))
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := put(agentOnly(one), `{"state":"idle","agent":"agent-2"}`); code != http.StatusNoContent {
		t.Fatalf("agent-1's report: %d", code)
	}
	if code := put(agentOnly(two), `{"state":"working"}`); code != http.StatusNoContent {
		t.Fatalf("agent-2's report: %d", code)
	}
	for body, want := range map[string]int{
		`not json`:   http.StatusBadRequest,
		`["a list"]`: http.StatusBadRequest,
		`{"x":"` + strings.Repeat("a", maxStatusReport) + `"}`: http.StatusRequestEntityTooLarge,
	} {
		if code := put(agentOnly(one), body); code != want {
			t.Errorf("report %.20q: %d, want %d", body, code, want)
		}
	}
	if resp, err := agentOnly(one).Get("http://egress-proxy/magents/status"); err != nil || resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET from an agent: %v %v", resp, err)
	}
	// An agent's own view of the report has no one's status.
	var own egressReport
	resp, err := agentOnly(one).Get("http://egress-proxy/magents/denied")
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(resp.Body).Decode(&own)
	resp.Body.Close()
	if own.Agents != nil {
		t.Errorf("an agent sees status reports: %+v", own.Agents)
	}
	// The proxy's own port: reads everyone's, writes none.
	port := httptest.NewServer(p)
	defer port.Close()
	if code := put(port.Client(), `{"state":"idle"}`, port.URL); code != http.StatusForbidden {
		t.Errorf("a report on the proxy's port: %d", code)
	}
	var all egressReport
	resp, err = port.Client().Get(port.URL + "/magents/denied")
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(resp.Body).Decode(&all)
	resp.Body.Close()
	if len(all.Agents) != 2 || all.Now.IsZero() {
		t.Fatalf("reports: %+v", all)
	}
	for agent, want := range map[string]string{"agent-1": "idle", "agent-2": "working"} {
		var h struct{ State string }
		if err := json.Unmarshal(all.Agents[agent].Health, &h); err != nil || h.State != want || all.Agents[agent].At.After(all.Now) {
			t.Errorf("%s: %s at %s (%v)", agent, all.Agents[agent].Health, all.Agents[agent].At, err)
		}
	}
}
