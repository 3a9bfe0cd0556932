// Package images holds the agent image's build context (embedded in the plugin, so an
// installed plugin builds from any directory) and its build targets, the plugin's one
// definition of what docker-bake.hcl also declares.
package images

import (
	"embed"
	"io/fs"
)

// Dockerfile is the Dockerfile's name inside the build context.
const Dockerfile = "Dockerfile.claude"

// ContextName is the build context's directory in this repository; --print reports it,
// as docker buildx bake does for docker-bake.hcl's context.
const ContextName = "images"

//go:embed Dockerfile.claude tmux.conf supervisor/*.go supervisor/agentstate/*.go supervisor/agentconfig/*.go supervisor/agentenv/*.go supervisor/modelusage/*.go supervisor/modelusage/prices.json supervisor/workqueue/*.go supervisor/agenttoken/*.go supervisor/gatewaypolicy/*.go supervisor/gitrelay/*.go supervisor/protocol/*.go supervisor/lifecycle/*.go supervisor/logs/*.go supervisor/atomicfile/*.go supervisor/envvar/*.go supervisor/shellquote/*.go supervisor/gitcmd/*.go supervisor/httprelay/*.go supervisor/agentconn/*.go supervisor/credential/*.go supervisor/egress/*.go supervisor/gateway/*.go supervisor/dispatch/*.go supervisor/gitcredential/*.go supervisor/proxy/*.go supervisor/agent/*.go
var buildContext embed.FS

// Context is the build context: the Dockerfile and the files it copies.
func Context() fs.FS { return buildContext }
