#!/usr/bin/env bash
# Installs Debian's Docker Engine (and the tools the seeding and tests use) and starts
# dockerd when no engine answers. Idempotent.
. "$(dirname "$0")/lib.sh"

# pass and gnupg back docker-credential-pass, the real credential helper the auth tests use.
# awscli: the ECS task definitions are checked by the AWS CLI's own parameter validation.
# docker-registry: the registry build --push is tested against (run in a container on each engine).
# etcd-server, containernetworking-plugins, gcc, libc6-dev, curl: the single-node Kubernetes
# of hack/kubernetes.sh (etcd, CNI plugins, the pause binary, health probes).
pkgs=(docker.io runc containerd debootstrap tmux git ca-certificates iptables pass gnupg awscli docker-registry
	etcd-server containernetworking-plugins gcc libc6-dev curl)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# policy-rc.d keeps the package from trying to start services through init scripts.
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The tests' engine filters IPv6 as it does IPv4 (the egress tests): Engine 20.10 does that
# only with experimental and ip6tables on (hack/daemon.json). A daemon.json of the machine's
# own is kept as it is.
if [ -z "${DOCKER_HOST:-}" ]; then
	if [ ! -e /etc/docker/daemon.json ]; then
		install -D -m 0644 "$(dirname "$0")/daemon.json" /etc/docker/daemon.json
		log "wrote /etc/docker/daemon.json (IPv6 with ip6tables)"
	elif ! cmp -s "$(dirname "$0")/daemon.json" /etc/docker/daemon.json; then
		log "/etc/docker/daemon.json is the machine's own: kept (the IPv6 egress test needs experimental and ip6tables on)"
	fi
	if engine_up && cmp -s "$(dirname "$0")/daemon.json" /etc/docker/daemon.json &&
		[ "$(docker info --format '{{.ExperimentalBuild}}' 2>/dev/null)" != true ]; then
		log "restarting dockerd to load /etc/docker/daemon.json"
		exec bash "$(dirname "$0")/restart-engine.sh"
	fi
fi

if [ -n "${DOCKER_HOST:-}" ] && engine_up; then
	log "engine at $DOCKER_HOST answers"
	exit 0
fi
if engine_up; then
	log "engine answers: $(docker version --format '{{.Server.Version}} (API {{.Server.APIVersion}})')"
	exit 0
fi

log "starting dockerd"
mkdir -p /var/log
nohup dockerd >/var/log/dockerd.log 2>&1 &
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
