package fleet

import "strconv"

// The names a fleet is known by wherever it runs, defined by the fleet model: the
// renderers write them and the commands that find a fleet's containers, services and
// volumes read them; nothing below the renderers imports a renderer for a name.

// Labels and the engine's socket.
const (
	// AgentLabel marks an agent's container (and Swarm service) with its number.
	AgentLabel = "io.docker-magents.agent"
	// EgressProxyLabel marks the egress proxy's container.
	EgressProxyLabel = "io.docker-magents.egress-proxy"
	// Compose's own labels on what it creates, by which a project's containers and
	// volumes are found.
	ComposeProjectLabel = "com.docker.compose.project"
	ComposeServiceLabel = "com.docker.compose.service"
	ComposeVolumeLabel  = "com.docker.compose.volume"
	// DockerSocket is the engine's socket, mounted into agents only with --docker.
	DockerSocket = "/var/run/docker.sock"
)

// The gateway: the port an agent reaches it on (its own loopback, forwarded to its
// socket), and on a cluster its service and port.
const (
	ProxyPort      = "3128"
	GatewayService = "gateway"
	GatewayPort    = "3129"
	// GatewayURL is the gateway as a cluster's agents reach it.
	GatewayURL = "http://" + GatewayService + ":" + GatewayPort
)

// Isolation modes: how agents share the workspace.
const (
	IsolationClone    = "clone"
	IsolationWorktree = "worktree"
	IsolationShared   = "shared"
)

// StatefulSetName is a cluster fleet's StatefulSet; its pods are PodName(1) … PodName(N)
// (the StatefulSet's ordinals start at 1).
func (f *Fleet) StatefulSetName() string { return f.Project + "-agent" }

// PodName is agent n's pod in a cluster.
func (f *Fleet) PodName(n int) string { return f.StatefulSetName() + "-" + strconv.Itoa(n) }

// AgentSelector and GatewaySelector are the label selectors of a cluster fleet's agent
// pods and its gateway's pod (the labels templates/k8s gives them).
func (f *Fleet) AgentSelector() string {
	return "app.kubernetes.io/name=claude-agent,app.kubernetes.io/instance=" + f.Project
}

func (f *Fleet) GatewaySelector() string {
	return "app.kubernetes.io/name=claude-gateway,app.kubernetes.io/instance=" + f.Project
}

// StackService is service's name in a Swarm stack of the fleet (PROJECT_SERVICE).
func (f *Fleet) StackService(service string) string { return f.Project + "_" + service }
