package gateway

import (
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/docker-magents/docker-magents/images/supervisor/modelusage"
	"github.com/docker-magents/docker-magents/images/supervisor/protocol"
)

// ServeOperator answers the proxy's own port (docker magents usage and budget, through
// exec): GET /magents/usage (the account), POST /magents/budget (new limits, as JSON) and
// /metrics. The proxy routes no agent here: an agent neither reads the others' account
// nor raises its own limits.
func (g *Model) ServeOperator(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/magents/usage":
		g.usage(w)
	case "/magents/budget":
		g.setBudgets(w, r)
	default:
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		g.WriteMetrics(w)
	}
}

// Report is the account as it stands at now.
func (g *Model) Report(now time.Time) modelusage.Report { return g.book.Report(now) }

// Over says whether agent, or the fleet, has spent its budget.
func (g *Model) Over(agent string) bool { return g.book.Over(agent) }

// usage answers GET /magents/usage (the account), and setBudgets POST /magents/budget (new limits,
// as JSON) on the proxy's own port.
func (g *Model) usage(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(g.book.Report(time.Now().UTC()))
}

func (g *Model) setBudgets(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		protocol.WriteError(w, http.StatusMethodNotAllowed, "POST the budgets")
		return
	}
	var b modelusage.Budgets
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&b); err != nil {
		protocol.WriteError(w, http.StatusBadRequest, "budgets: "+err.Error())
		return
	}
	g.book.SetBudgets(b)
	g.usage(w)
}
