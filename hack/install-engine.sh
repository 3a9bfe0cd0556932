#!/usr/bin/env bash
# Installs Debian's Docker Engine (and the tools the seeding and tests use) and starts
# dockerd when no engine answers. Idempotent.
#
# A contributor's workstation keeps its own Docker: the engine's packages (docker.io,
# containerd, runc) are installed only when no engine answers and no Docker package is
# installed (Docker CE's docker-ce and containerd.io conflict with Debian's); daemon.json
# is written, and dockerd started and restarted, only for an engine these scripts
# installed ($ENGINE_MARK) and a dockerd they started ($DOCKERD_PIDFILE).
. "$(dirname "$0")/lib.sh"
here=$(dirname "$0")

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# pass and gnupg back docker-credential-pass, the real credential helper the auth tests use.
# awscli: the ECS task definitions are checked by the AWS CLI's own parameter validation.
# docker-registry: the registry build --push is tested against (run in a container on each engine).
# etcd-server, containernetworking-plugins, gcc, libc6-dev, curl: the single-node Kubernetes
# of hack/kubernetes.sh (etcd, CNI plugins, the pause binary, health probes).
# libseccomp-dev: runc for the current engine of the matrix (hack/build-tools.sh moby).
# chromium: the real browser the dashboard's tests drive (chromedp, headless).
tools=(debootstrap tmux git ca-certificates iptables pass gnupg awscli docker-registry
	etcd-server containernetworking-plugins gcc libc6-dev curl libseccomp-dev chromium)
engine_pkgs=(docker.io runc containerd)

missing=()
for p in "${tools[@]}"; do
	installed "$p" || missing+=("$p")
done
if ! engine_up && [ -z "${DOCKER_HOST:-}" ]; then
	others=()
	for p in docker-ce docker-ce-cli containerd.io moby-engine docker-desktop; do
		if installed "$p"; then others+=("$p"); fi
	done
	if [ ${#others[@]} -gt 0 ]; then
		log "no engine answers, and this machine has Docker of its own (${others[*]}): start it (systemctl start docker), or point DOCKER_HOST at an engine; nothing was installed"
		exit 1
	fi
	for p in "${engine_pkgs[@]}"; do
		if ! installed "$p"; then
			missing+=("$p")
			mkdir -p "$MAGENTS_STATE"
			touch "$ENGINE_MARK"
		fi
	done
	# Debian's docker.io, installed but stopped, that these scripts did not install: it is
	# started below as any stopped engine would be, not reconfigured.
fi
if [ ${#missing[@]} -gt 0 ]; then
	log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# policy-rc.d keeps the package from trying to start services through init scripts.
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The tests' engine filters IPv6 as it does IPv4 (the egress tests): Engine 20.10 does that
# only with experimental and ip6tables on (hack/daemon.json). Written only for an engine
# these scripts installed, and only where the machine has no daemon.json of its own.
if [ -z "${DOCKER_HOST:-}" ] && engine_ours; then
	if [ ! -e /etc/docker/daemon.json ]; then
		install -D -m 0644 "$here/daemon.json" /etc/docker/daemon.json
		log "wrote /etc/docker/daemon.json (IPv6 with ip6tables)"
	elif ! cmp -s "$here/daemon.json" /etc/docker/daemon.json; then
		log "/etc/docker/daemon.json is the machine's own: kept (the IPv6 egress test needs experimental and ip6tables on)"
	fi
	if engine_up && dockerd_ours && cmp -s "$here/daemon.json" /etc/docker/daemon.json &&
		[ "$(docker info --format '{{.ExperimentalBuild}}' 2>/dev/null)" != true ]; then
		log "restarting dockerd to load /etc/docker/daemon.json"
		exec bash "$here/restart-engine.sh"
	fi
fi

if [ -n "${DOCKER_HOST:-}" ] && engine_up; then
	log "engine at $DOCKER_HOST answers"
	exit 0
fi
if engine_up; then
	log "engine answers: $(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})')$(engine_ours || echo ", the machine's own: left as it is")"
	exit 0
fi
if [ -n "${DOCKER_HOST:-}" ]; then
	log "no engine answers at DOCKER_HOST=$DOCKER_HOST: start it, or unset DOCKER_HOST"
	exit 1
fi

log "starting dockerd"
mkdir -p /var/log "$MAGENTS_STATE"
nohup dockerd >/var/log/dockerd.log 2>&1 &
echo $! >"$DOCKERD_PIDFILE"
for _ in $(seq 1 60); do
	engine_up && break
	sleep 1
done
if ! engine_up; then
	tail -30 /var/log/dockerd.log >&2
	log "dockerd did not come up; see /var/log/dockerd.log"
	exit 1
fi
log "engine answers: $(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})')"
