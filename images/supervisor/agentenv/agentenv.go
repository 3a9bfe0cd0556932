// Package agentenv names the environment variables an agent container is given, for the
// renderers of every target (through internal/agentspec) and the supervisor that reads
// them. It imports nothing: the supervisor builds from the image's context.
package agentenv

const (
	AgentID        = "AGENT_ID"                // the agent's number: 1, 2, …
	Task           = "TASK"                    // the agent's first task
	TasksDir       = "MAGENTS_TASKS_DIR"       // or a directory of tasks by AGENT_ID (Kubernetes)
	Headless       = "CLAUDE_HEADLESS"         // "true": run the task once with claude -p
	HeadlessAlias  = "MAGENTS_HEADLESS"        // the same, by the supervisor's own prefix
	PermissionMode = "MAGENTS_PERMISSION_MODE" // Claude's permissions.defaultMode
	AuthCheck      = "MAGENTS_AUTH_CHECK"      // "1": ask the model API whether it takes the credential
	SharedConfig   = "MAGENTS_SHARED_CONFIG"   // "1": the shared config set is delivered
	AgentCmd       = "MAGENTS_AGENT_CMD"       // the command in the session (default claude)
	// ProjectCommands is the project's lifecycle commands (lifecycle.Commands, JSON): run in
	// the session before the agent command.
	ProjectCommands = "MAGENTS_PROJECT_COMMANDS"
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

// The container contract's other names: the supervisor's settings, the agent's clone and
// sockets, and the egress proxy's and gateway's. Host and supervisor both use these.
const (
	Workspace           = "MAGENTS_WORKSPACE"             // the workspace in the container (default /workspace)
	RunDir              = "MAGENTS_RUN_DIR"               // the supervisor's run dir: tmux's socket, the agent's reports
	Session             = "MAGENTS_SESSION"               // the tmux session's name (default claude)
	AuthDir             = "MAGENTS_AUTH_DIR"              // a host login, read-only (default /auth)
	ConfigDir           = "MAGENTS_CONFIG_DIR"            // where the shared config set is delivered
	HealthAddr          = "MAGENTS_HEALTH_ADDR"           // where the supervisor serves its health (Cloud Run's $PORT)
	RestartBackoff      = "MAGENTS_RESTART_BACKOFF"       // the first wait before a session restart
	StopTimeout         = "MAGENTS_STOP_TIMEOUT"          // how long Claude gets to stop
	Attach              = "MAGENTS_ATTACH"                // "0": attach nothing to the session
	RequireTools        = "MAGENTS_REQUIRE_TOOLS"         // tools doctor requires in the image, by commas
	CloneFrom           = "MAGENTS_CLONE_FROM"            // the agent's: the repository it clones
	CloneBranch         = "MAGENTS_CLONE_BRANCH"          // the agent's: its branch in the clone
	CloneBase           = "MAGENTS_CLONE_BASE"            // the agent's: the ref its branch starts from
	CloneIncludeDir     = "MAGENTS_CLONE_INCLUDE_DIR"     // the agent's: the included files up staged
	EgressSocket        = "MAGENTS_EGRESS_SOCKET"         // the agent's: its socket to the egress proxy
	AgentTokenFile      = "MAGENTS_AGENT_TOKEN_FILE"      // the agent's: its token (the gateway and the dispatcher know it by)
	GatewayTokenFile    = "MAGENTS_GATEWAY_TOKEN_FILE"    // the agent's: its token for the model gateway, in the credential's place
	ProxyAddr           = "MAGENTS_PROXY_ADDR"            // the proxy's: its own port
	EgressAllow         = "MAGENTS_EGRESS_ALLOW"          // the proxy's: the allowlist, by commas
	EgressSockets       = "MAGENTS_EGRESS_SOCKETS"        // the proxy's: the agents' socket directories
	EgressModelEndpoint = "MAGENTS_EGRESS_MODEL_ENDPOINT" // the proxy's: "deny" keeps the model's endpoint off the allowlist
	AgentKeyFile        = "MAGENTS_AGENT_KEY_FILE"        // the gateway's: the fleet's key, which signs the agents' tokens
	ModelGateway        = "MAGENTS_MODEL_GATEWAY"         // the gateway's: "1" relays the model with the fleet's credential
	GatewayState        = "MAGENTS_GATEWAY_STATE"         // the gateway's: its account's file
	GatewayBudgets      = "MAGENTS_GATEWAY_BUDGETS"       // the gateway's: the budgets it starts with (JSON)
	QueueState          = "MAGENTS_QUEUE_STATE"           // the gateway's: the work queue's file
)

// ProxyMemory is the memory limit of the fleet's egress proxy and gateway container, for
// the renderers that set it and the gateway, whose bounds are sized to fit under it.
const ProxyMemory = 128 << 20
