# Sourced by the hack/ scripts: shared settings and a timer for each stage.
set -euo pipefail
shopt -s inherit_errexit

# Built tools and seeded rootfs tarballs are cached outside the checkout, keyed by version,
# so a warm CI machine (or a developer's) reuses them.
MAGENTS_CACHE=${MAGENTS_CACHE:-/var/cache/docker-magents}
# Where the docker CLI looks for system-wide plugins.
CLI_PLUGINS_DIR=${CLI_PLUGINS_DIR:-/usr/local/lib/docker/cli-plugins}

COMPOSE_VERSION=${COMPOSE_VERSION:-v5.6.0}
BUILDX_VERSION=${BUILDX_VERSION:-v0.38.2}
BUILDKIT_VERSION=${BUILDKIT_VERSION:-v0.34.2}
CREDENTIAL_HELPERS_VERSION=${CREDENTIAL_HELPERS_VERSION:-v0.9.13}
# The Dev Containers CLI, devcontainer.json's reference implementation, which the
# devcontainer parser's tests are held to (internal/devcontainer: keep its path in step).
DEVCONTAINERS_CLI_VERSION=${DEVCONTAINERS_CLI_VERSION:-0.89.0}
# The current Engine of the test matrix (hack/engine-current.sh): moby's dockerd and
# docker-proxy, containerd v2 and runc, built from the Go module proxy.
MOBY_VERSION=${MOBY_VERSION:-v2.0.0-beta.24}
MOBY_ENGINE_VERSION=${MOBY_ENGINE_VERSION:-${MOBY_VERSION#v}} # what dockerd reports (dockerversion.Version)
CONTAINERD_VERSION=${CONTAINERD_VERSION:-v2.4.2}
RUNC_VERSION=${RUNC_VERSION:-v1.5.3}

log() { printf '%s [%s] %s\n' "$(date -u +%H:%M:%S)" "${0##*/}" "$*" >&2; }

# stage NAME CMD... runs CMD and prints its wall time.
stage() {
	local name=$1 start rc=0
	shift
	start=$(date +%s)
	log "stage $name: start"
	# As a job of its own: under "CMD || rc=$?" bash would switch errexit off inside CMD
	# (a shell function's failing steps would go unnoticed).
	"$@" &
	wait $! || rc=$?
	log "stage $name: $([ $rc -eq 0 ] && echo done || echo "FAILED ($rc)") in $(($(date +%s) - start))s"
	return $rc
}

engine_up() { docker version --format '{{.Server.Version}}' >/dev/null 2>&1; }

# What the tests installed and started on this machine, so that nothing else is touched:
# a contributor's workstation keeps its own Docker (see install-engine.sh).
MAGENTS_STATE=${MAGENTS_STATE:-/var/lib/docker-magents}
# ENGINE_MARK: the tests installed the engine's packages here (Debian's docker.io).
ENGINE_MARK=$MAGENTS_STATE/engine-installed
# DOCKERD_PIDFILE: the dockerd the tests started (its PID), the only one they restart.
DOCKERD_PIDFILE=$MAGENTS_STATE/dockerd.pid
# INSTALLED_LIST: the files the tests installed (plugins, tools), one path a line; a file
# of the same name that is not listed is the machine's own and is kept.
INSTALLED_LIST=$MAGENTS_STATE/installed

# engine_ours: the tests installed this machine's engine.
engine_ours() { [ -e "$ENGINE_MARK" ]; }

# dockerd_ours: the dockerd running now is the one the tests started.
dockerd_ours() {
	local pid
	pid=$(cat /var/run/docker.pid 2>/dev/null || true)
	[ -n "$pid" ] && [ "$pid" = "$(cat "$DOCKERD_PIDFILE" 2>/dev/null || true)" ] && kill -0 "$pid" 2>/dev/null
}

# install_file SRC DEST installs SRC at DEST (0755) unless DEST is the machine's own: a
# file there that the tests did not install is kept, and so is a docker CLI plugin of the
# same name that the docker CLI already finds elsewhere (PLUGIN=name).
install_file() {
	local src=$1 dest=$2 plugin=${3:-}
	if [ -e "$dest" ] && ! grep -qxF "$dest" "$INSTALLED_LIST" 2>/dev/null; then
		log "kept $dest: the machine's own, not installed by these scripts"
		return
	fi
	if [ ! -e "$dest" ] && [ -n "$plugin" ] && docker "$plugin" version >/dev/null 2>&1; then
		log "kept the machine's own docker $plugin: $(docker "$plugin" version 2>/dev/null | head -1)"
		return
	fi
	mkdir -p "$(dirname "$dest")" "$MAGENTS_STATE"
	install -m 0755 "$src" "$dest"
	grep -qxF "$dest" "$INSTALLED_LIST" 2>/dev/null || echo "$dest" >>"$INSTALLED_LIST"
}
