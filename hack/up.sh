#!/usr/bin/env bash
# make up: the main job on a fresh machine, each stage timed: an engine (Debian's, when
# none answers; hack/install-engine.sh), the compose and buildx plugins (built when the
# docker CLI has none), the base images (seeded offline when no registry answers), the
# plugin and the agent image, and a fleet of AGENTS agents on this checkout.
#   AGENTS=2 CA_CERT=/path/ca.pem hack/up.sh [STAGE...]    default: every stage, in order
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."

start=$(date +%s)
engine() { engine_up || bash "$here/install-engine.sh"; }
plugins() {
	docker compose version >/dev/null 2>&1 || bash "$here/build-tools.sh" compose
	docker buildx version >/dev/null 2>&1 || bash "$here/build-tools.sh" buildx
}
base_images() {
	local img
	for img in debian:bookworm-slim golang:1.26-bookworm; do
		docker image inspect "$img" >/dev/null 2>&1 || docker pull -q "$img" >/dev/null 2>&1 ||
			bash "$here/seed-base-images.sh" || return 1
	done
}
image() { make --no-print-directory image; }
fleet() { docker magents up --agents "${AGENTS:-2}"; }

stages=("$@")
[ ${#stages[@]} -gt 0 ] || stages=(engine plugins base-images image fleet)
for s in "${stages[@]}"; do
	case $s in
	engine | plugins | image | fleet) stage "$s" "$s" ;;
	base-images) stage base-images base_images ;;
	*)
		log "unknown stage $s (engine, plugins, base-images, image, fleet)"
		exit 2
		;;
	esac
done
[ $# -gt 0 ] || log "make up done in $(($(date +%s) - start))s: docker magents attach agent-1"
