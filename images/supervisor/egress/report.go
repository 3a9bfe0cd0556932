package egress

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/docker-magents/docker-magents/images/supervisor/agentconn"
	"github.com/docker-magents/docker-magents/images/supervisor/modelusage"
	"github.com/docker-magents/docker-magents/images/supervisor/protocol"
	"github.com/docker-magents/docker-magents/images/supervisor/workqueue"
)

// egressReport is what /magents/denied answers: denials per agent and the latest ones.
type egressReport struct {
	Allow  []string          `json:"allow"`
	Counts map[string]int    `json:"counts"`
	Recent []protocol.Denial `json:"recent"`
	// Agents: every agent's last status report, for the proxy's own port only; Now is the
	// proxy's clock when it answered, for the reports' age.
	Agents map[string]statusReport `json:"agents,omitempty"`
	Now    time.Time               `json:"now,omitzero"`
	// Usage: the model gateway's account, for the proxy's own port only.
	Usage *modelusage.Report `json:"usage,omitempty"`
	// Queue: the work queue's tasks, for the proxy's own port when asked (?queue=1) and the
	// proxy runs the dispatcher; absent otherwise (an empty queue is []).
	Queue *[]workqueue.Task `json:"queue,omitempty"`
}

// writeReport answers an agent with its own denials, and the proxy's own port (docker magents
// egress log, through exec) with everyone's.
func (p *Proxy) writeReport(w http.ResponseWriter, r *http.Request) {
	agent, own := agentconn.Agent(r.Context())
	p.mu.Lock()
	rep := egressReport{Allow: slices.Clone(p.allow), Counts: map[string]int{}}
	for k, v := range p.counts {
		if !own || k == agent {
			rep.Counts[k] = v
		}
	}
	for _, d := range p.recent {
		if !own || d.Agent == agent {
			rep.Recent = append(rep.Recent, d)
		}
	}
	if !own {
		rep.Agents, rep.Now = maps.Clone(p.statuses), time.Now().UTC()
	}
	p.mu.Unlock()
	if !own && p.Usage != nil {
		u := p.Usage(rep.Now)
		rep.Usage = &u
	}
	if !own && p.Queue != nil && r.URL.Query().Get("queue") == "1" {
		q := p.Queue()
		rep.Queue = &q
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(rep)
}

// The agents' status without an exec per agent: behind the egress proxy, each agent's
// supervisor gives the proxy its health report (the JSON of `health`) whenever it changes
// and at least every 30 s, over the agent's own socket — so the proxy files it under the
// agent the socket belongs to, and an agent can report only itself. docker magents ps
// reads every agent's report, with the denials, in one exec.

// maxStatusReport bounds an agent's report.
const maxStatusReport = 64 << 10

// statusReport is an agent's last report as the proxy keeps it.
type statusReport struct {
	At     time.Time       `json:"at"`
	Health json.RawMessage `json:"health"`
}

// status takes an agent's report, from its own socket only: the proxy's port (what the
// fleet's operator reaches through exec) reads reports, never writes one.
func (p *Proxy) status(w http.ResponseWriter, r *http.Request) {
	agent, own := agentconn.Agent(r.Context())
	if !own {
		http.Error(w, "docker-magents egress proxy: agents report their status on their own socket", http.StatusForbidden)
		return
	}
	if r.Method != http.MethodPut {
		w.Header().Set("Allow", http.MethodPut)
		http.Error(w, "docker-magents egress proxy: PUT a status report", http.StatusMethodNotAllowed)
		return
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxStatusReport))
	if err != nil {
		http.Error(w, fmt.Sprintf("docker-magents egress proxy: a status report is at most %d bytes", maxStatusReport), http.StatusRequestEntityTooLarge)
		return
	}
	var obj map[string]json.RawMessage
	if json.Unmarshal(b, &obj) != nil {
		http.Error(w, "docker-magents egress proxy: a status report is a JSON object", http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	p.statuses[agent] = statusReport{At: time.Now().UTC(), Health: b}
	p.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}
