#!/usr/bin/env bash
# Starts or stops a second, newer Docker Engine for the test matrix: Debian 13's Engine 26.1
# with the containerd image store, nested in a container on the host's engine (no
# --privileged here: the capabilities, mounts and environment below are what this kind of
# machine allows; see ../shared/ENGINES.md). Its socket appears on the host at
# $ENGINE26_SOCK; point DOCKER_HOST at it. Its state lives in the tool cache, so a warm
# machine keeps its images and build cache.
#
#   hack/engine26.sh image               build its image (provisioning)
#   hack/engine26.sh start [TEST_ROOT]   start it (idempotent); TEST_ROOT is mounted at the same path
#   hack/engine26.sh stop
#   hack/engine26.sh env                 print DOCKER_HOST=… and MAGENTS_E2E_HOST_ADDR=…
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)

NAME=${ENGINE26_NAME:-magents-engine26}
IMAGE=magents-hack/engine26:26.1
TRIXIE=magents-hack/trixie:minbase
SOCK_DIR=${ENGINE26_SOCK_DIR:-/run/magents-engine26}
ENGINE26_SOCK=$SOCK_DIR/docker.sock
STATE=$MAGENTS_CACHE/engine26

host_engine() { env -u DOCKER_HOST -u DOCKER_CONTEXT docker "$@"; }
nested() { DOCKER_HOST=unix://$ENGINE26_SOCK docker "$@"; }

ensure_image() {
	if host_engine image inspect "$IMAGE" >/dev/null 2>&1; then
		return
	fi
	if ! host_engine image inspect "$TRIXIE" >/dev/null 2>&1; then
		env -u DOCKER_HOST -u DOCKER_CONTEXT SUITE=trixie BASE_TAG=$TRIXIE bash "$here/seed-base-images.sh" --base-only
	fi
	log "building $IMAGE (Debian 13 docker.io)"
	host_engine build -q -t "$IMAGE" --build-arg BASE_IMAGE="$TRIXIE" "$here/engine26" >/dev/null
}

start() {
	local root=${1:-}
	ensure_image
	if [ "$(host_engine inspect -f '{{.State.Running}}' "$NAME" 2>/dev/null)" != true ]; then
		host_engine rm -f "$NAME" >/dev/null 2>&1 || true
		mkdir -p "$SOCK_DIR" "$STATE/docker" "$STATE/containerd"
		rm -f "$ENGINE26_SOCK"
		# daemon.json from the checkout, so a change to it needs no image rebuild.
		local mounts=(-v "$here/engine26/daemon.json:/etc/docker/daemon.json:ro" -v "$SOCK_DIR:/run/engine26" -v "$STATE/docker:/var/lib/docker" -v "$STATE/containerd:/var/lib/containerd" -v /sys/fs/cgroup:/sys/fs/cgroup:rw)
		if [ -n "$root" ]; then
			mkdir -p "$root"
			mounts+=(-v "$root:$root")
		fi
		# systempaths=unconfined: the nested engine writes its networks' sysctls (IPv6 on a
		# bridge) under /proc/sys, read-only in a container otherwise; they are per netns.
		log "starting $NAME"
		host_engine run -d --name "$NAME" \
			--cap-add ALL --cap-drop SYS_RESOURCE \
			--security-opt seccomp=unconfined --security-opt apparmor=unconfined --security-opt systempaths=unconfined \
			-e DOCKER_ALLOW_IPV6_ON_IPV4_INTERFACE=1 \
			"${mounts[@]}" "$IMAGE" >/dev/null
	fi
	for _ in $(seq 1 60); do
		nested version >/dev/null 2>&1 && break
		sleep 1
	done
	if ! nested version >/dev/null 2>&1; then
		host_engine logs --tail 30 "$NAME" >&2
		log "the nested engine did not answer on $ENGINE26_SOCK"
		exit 1
	fi
	log "engine answers: $(nested version --format '{{.Server.Version}} (API {{.Server.APIVersion}})'), $(nested info --format '{{range .DriverStatus}}{{index . 0}}={{index . 1}} {{end}}')"
	# The base images move in from the host's store: no registry is needed.
	for img in debian:bookworm-slim golang:1.26-bookworm; do
		if ! nested image inspect "$img" >/dev/null 2>&1 && host_engine image inspect "$img" >/dev/null 2>&1; then
			log "loading $img into the nested engine"
			host_engine save "$img" | nested load -q >/dev/null
		fi
	done
}

# restart restarts the nested engine's container (a dockerd restart: its state is kept).
restart() {
	host_engine restart "$NAME" >/dev/null
	for _ in $(seq 1 60); do
		nested version >/dev/null 2>&1 && break
		sleep 1
	done
	nested version >/dev/null 2>&1 || { log "the nested engine did not come back"; exit 1; }
	log "restarted $NAME"
}

stop() {
	host_engine rm -f "$NAME" >/dev/null 2>&1 || true
	log "stopped $NAME"
}

# The address of the host as containers of the nested engine reach it: the host engine's
# bridge gateway (host.docker.internal there names the nested engine's own container).
host_addr() {
	host_engine inspect -f '{{range .NetworkSettings.Networks}}{{.Gateway}}{{end}}' "$NAME"
}

case ${1:-} in
image) ensure_image ;;
start) start "${2:-}" ;;
stop) stop ;;
restart) restart ;;
env)
	echo "DOCKER_HOST=unix://$ENGINE26_SOCK"
	echo "MAGENTS_E2E_HOST_ADDR=$(host_addr)"
	;;
*)
	echo "usage: $0 start [TEST_ROOT] | stop | restart | env" >&2
	exit 2
	;;
esac
