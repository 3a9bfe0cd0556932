package proxy

import (
	"net/http"
	"strings"

	"github.com/docker-magents/docker-magents/images/supervisor/agentconn"
	"github.com/docker-magents/docker-magents/images/supervisor/dispatch"
	"github.com/docker-magents/docker-magents/images/supervisor/egress"
	"github.com/docker-magents/docker-magents/images/supervisor/gateway"
	"github.com/docker-magents/docker-magents/images/supervisor/gitrelay"
)

// handler gives each request to the role that answers it, and tells that role which
// agent asks (the agent whose socket the request came through, or none on the proxy's own
// port): the roles never see a request that is not theirs, nor decide who asks.
type handler struct {
	egress     *egress.Proxy
	model      *gateway.Model       // nil without a model gateway
	dispatcher *dispatch.Dispatcher // nil without a work queue
	relay      *gateway.Relay       // nil without a git relay
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	agent, fromAgent := agentconn.Agent(r.Context())
	switch path := r.URL.Path; {
	case r.Method == http.MethodConnect || r.URL.IsAbs():
		h.egress.ServeHTTP(w, r)
	case h.dispatcher != nil && strings.HasPrefix(path, "/magents/queue"):
		if fromAgent {
			h.dispatcher.FromAgent(w, r, agent)
		} else {
			h.dispatcher.FromOperator(w, r)
		}
	case h.relay != nil && strings.HasPrefix(path, gitrelay.PathPrefix):
		if !fromAgent {
			http.Error(w, "docker-magents git relay: only the fleet's agents use it, each through its own socket (the host pushes with docker magents push)", http.StatusForbidden)
			return
		}
		h.relay.Serve(w, r, agent)
	case h.model != nil && strings.HasPrefix(path, "/v1/"):
		if !fromAgent {
			gateway.APIError(w, http.StatusForbidden, "permission_error", "docker-magents model gateway: only the fleet's agents use the gateway, each through its own socket")
			return
		}
		if h.model.Denied {
			// The fleet took the model's endpoint off its allowlist (up
			// --allow-model-endpoint=false): refused and counted as any other host.
			h.egress.Deny(w, r, h.model.UpstreamHostPort())
			return
		}
		h.model.ServeAgent(w, r, agent)
	case h.model != nil && (path == "/magents/usage" || path == "/magents/budget" || path == "/metrics"):
		// The account and the limits are the proxy's own port's (docker magents usage and
		// budget, through exec): an agent neither reads the others' nor raises its own.
		if fromAgent {
			http.Error(w, "docker-magents egress proxy: not for agents", http.StatusForbidden)
			return
		}
		h.model.ServeOperator(w, r)
	default:
		// The egress proxy's own paths (its report, the agents' status, /healthz), or its
		// refusal of what is none of the roles'.
		h.egress.ServeHTTP(w, r)
	}
}
