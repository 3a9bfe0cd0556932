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
