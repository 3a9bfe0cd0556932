#!/usr/bin/env bash
# Starts or stops the current Docker Engine of the test matrix: moby v2 (Engine API 1.56)
# with containerd v2 and the containerd image store, built from the Go module proxy
# (hack/build-tools.sh moby), nested in a container on the host's engine (no --privileged
# here: the capabilities, mounts and environment below are what this kind of machine
# allows; see ../shared/ENGINES.md). Its socket appears on the host at $ENGINE_SOCK; point
# DOCKER_HOST at it. Its state lives in the tool cache, so a warm machine keeps its images
# and build cache.
#
#   hack/engine-current.sh image               build its image (provisioning)
#   hack/engine-current.sh start [TEST_ROOT]   start it (idempotent); TEST_ROOT is mounted at the same path
#   hack/engine-current.sh stop
#   hack/engine-current.sh env                 print DOCKER_HOST=… and MAGENTS_E2E_HOST_ADDR=…
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)

NAME=${ENGINE_NAME:-magents-engine-current}
IMAGE=magents-hack/engine-current:$MOBY_ENGINE_VERSION-containerd-$CONTAINERD_VERSION-runc-$RUNC_VERSION
BASE=debian:bookworm-slim
SOCK_DIR=${ENGINE_SOCK_DIR:-/run/magents-engine-current}
ENGINE_SOCK=$SOCK_DIR/docker.sock
STATE=$MAGENTS_CACHE/engine-current

host_engine() { env -u DOCKER_HOST -u DOCKER_CONTEXT docker "$@"; }
nested() { DOCKER_HOST=unix://$ENGINE_SOCK docker "$@"; }

ensure_image() {
	if host_engine image inspect "$IMAGE" >/dev/null 2>&1; then
		return
	fi
	if ! host_engine image inspect "$BASE" >/dev/null 2>&1; then
		env -u DOCKER_HOST -u DOCKER_CONTEXT bash "$here/seed-base-images.sh"
	fi
	bash "$here/build-tools.sh" moby
	local ctx
	ctx=$(mktemp -d)
	mkdir -p "$ctx/bin"
	cp "$here/engine-current/Dockerfile" "$here/engine-current/daemon.json" "$ctx/"
	local bin
	for bin in dockerd:"$MOBY_VERSION" docker-proxy:"$MOBY_VERSION" containerd:"$CONTAINERD_VERSION" containerd-shim-runc-v2:"$CONTAINERD_VERSION" runc:"$RUNC_VERSION"; do
		cp "$MAGENTS_CACHE/tools/${bin%%:*}-${bin#*:}/${bin%%:*}" "$ctx/bin/"
	done
	log "building $IMAGE (moby $MOBY_VERSION, containerd $CONTAINERD_VERSION, runc $RUNC_VERSION)"
	host_engine build -q -t "$IMAGE" --build-arg BASE_IMAGE="$BASE" "$ctx" >/dev/null
	rm -rf "$ctx"
}

start() {
	local root=${1:-}
	ensure_image
	if [ "$(host_engine inspect -f '{{.State.Running}}' "$NAME" 2>/dev/null)" != true ]; then
		host_engine rm -f "$NAME" >/dev/null 2>&1 || true
		mkdir -p "$SOCK_DIR" "$STATE/docker" "$STATE/containerd"
		rm -f "$ENGINE_SOCK"
		# daemon.json from the checkout, so a change to it needs no image rebuild.
		local mounts=(-v "$here/engine-current/daemon.json:/etc/docker/daemon.json:ro" -v "$SOCK_DIR:/run/engine" -v "$STATE/docker:/var/lib/docker" -v "$STATE/containerd:/var/lib/containerd" -v /sys/fs/cgroup:/sys/fs/cgroup:rw)
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
		log "the nested engine did not answer on $ENGINE_SOCK"
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
	echo "DOCKER_HOST=unix://$ENGINE_SOCK"
	echo "MAGENTS_E2E_HOST_ADDR=$(host_addr)"
	;;
*)
	echo "usage: $0 start [TEST_ROOT] | stop | restart | env" >&2
	exit 2
	;;
esac
