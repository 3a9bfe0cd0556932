// Package agentenv names the environment variables an agent container is given, for the
// renderers of every target (through internal/agentspec) and the supervisor that reads
// them. It imports nothing: the supervisor builds from the image's context.
package agentenv

const (
	AgentID        = "AGENT_ID"                // the agent's number: 1, 2, …
	Task           = "TASK"                    // the agent's first task
	TasksDir       = "MAGENTS_TASKS_DIR"       // or a directory of tasks by AGENT_ID (Kubernetes)
	Headless       = "CLAUDE_HEADLESS"         // "true": run the task once with claude -p
	PermissionMode = "MAGENTS_PERMISSION_MODE" // Claude's permissions.defaultMode
	AuthCheck      = "MAGENTS_AUTH_CHECK"      // "1": ask the model API whether it takes the credential
	SharedConfig   = "MAGENTS_SHARED_CONFIG"   // "1": the shared config set is delivered
	AgentCmd       = "MAGENTS_AGENT_CMD"       // the command in the session (default claude)
	// WorkDir is where the agent works when the fleet's workspace is a subdirectory of
	// its repository: that directory in the agent's clone of the whole repository.
	WorkDir = "MAGENTS_WORKDIR"

	// A cluster's fleet: agents reach its gateway (the model gateway and the work queue's
	// dispatcher) over the network, each known by the token in its secret.
	DispatcherURL = "MAGENTS_DISPATCHER_URL" // the agent's: the dispatcher's base URL
	AgentAddr     = "MAGENTS_AGENT_ADDR"     // the gateway's: where it serves the agents
	AgentNames    = "MAGENTS_AGENTS"         // the gateway's: the agents' names, by commas
	MetricsAddr   = "MAGENTS_METRICS_ADDR"   // the gateway's: where it serves /metrics alone
	// The gateway's: the optional server tools, request fields and betas it relays, by
	// commas (gatewaypolicy.Allowed).
	GatewayAllow = "MAGENTS_GATEWAY_ALLOW"
)

// ProxyMemory is the memory limit of the fleet's egress proxy and gateway container, for
// the renderers that set it and the gateway, whose bounds are sized to fit under it.
const ProxyMemory = 128 << 20
