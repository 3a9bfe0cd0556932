#!/usr/bin/env bash
# A real single-node Kubernetes on loopback, for the deploy k8s e2e tests (no cluster can be
# downloaded here, so one is built): kube-apiserver, kube-controller-manager, kube-scheduler
# and kubelet built from the Go module proxy (cached by version), Debian's etcd, a second
# containerd with CRI for the kubelet, Debian's CNI plugins, and a pause image built from C.
#
#   hack/kubernetes.sh build         build (or reuse) the binaries
#   hack/kubernetes.sh start [ROOT]  start the cluster; prints the kubeconfig path
#   hack/kubernetes.sh stop [ROOT]   stop every process it started, by PID
#   hack/kubernetes.sh load IMAGE    copy an image from the Docker Engine into the cluster
. "$(dirname "$0")/lib.sh"

K8S_VERSION=${K8S_VERSION:-v1.36.3}
K8S_BIN=$MAGENTS_CACHE/tools/kubernetes-$K8S_VERSION
K8S_ROOT=${K8S_ROOT:-/var/tmp/magents-k8s}
case "${1:-}" in start | stop) K8S_ROOT=${2:-$K8S_ROOT} ;; esac
K8S_RUN=/run/magents-k8s
PAUSE_IMAGE=registry.k8s.io/pause:3.10
CTR=(ctr --address "$K8S_RUN/containerd.sock" --namespace k8s.io)

build() {
	local cmds=(kube-apiserver kube-controller-manager kube-scheduler kubelet) missing=0
	for c in "${cmds[@]}"; do [ -x "$K8S_BIN/$c" ] || missing=1; done
	if [ $missing = 0 ]; then
		log "kubernetes $K8S_VERSION: cached in $K8S_BIN"
		return
	fi
	local tmp staging
	tmp=$(mktemp -d)
	log "building kubernetes $K8S_VERSION (${cmds[*]}) from the Go module proxy; takes minutes"
	(
		cd "$tmp"
		go mod init magents.local/build-kubernetes >/dev/null 2>&1
		gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
		# k8s.io/kubernetes points its 33 staging modules at ./staging, which a dependent
		# module cannot use: point each at its published version instead.
		staging=$(sed -n 's#^\s*\(k8s.io/[^ ]*\) => \./staging/.*#\1#p' "$gomod")
		for m in $staging; do
			echo "replace $m => $m v0${K8S_VERSION#v1}" >>go.mod
		done
		GOFLAGS=-mod=mod go get "k8s.io/kubernetes@$K8S_VERSION" >&2
		for c in "${cmds[@]}"; do
			GOFLAGS=-mod=mod go get "k8s.io/kubernetes/cmd/$c@$K8S_VERSION" >&2
		done
		mkdir -p out
		CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION" \
			-o out/ $(printf 'k8s.io/kubernetes/cmd/%s ' "${cmds[@]}") >&2
	)
	mkdir -p "$K8S_BIN"
	mv "$tmp"/out/* "$K8S_BIN/"
	rm -rf "$tmp"
	log "kubernetes $K8S_VERSION: built into $K8S_BIN"
}

# spawn NAME CMD... starts CMD in the background, logging to ROOT/log/NAME.log, PID in ROOT/pid/NAME.
spawn() {
	local name=$1
	shift
	mkdir -p "$K8S_ROOT/log" "$K8S_ROOT/pid"
	setsid "$@" >"$K8S_ROOT/log/$name.log" 2>&1 </dev/null &
	echo $! >"$K8S_ROOT/pid/$name"
}

# wait_for WHAT SECONDS CMD... retries CMD until it succeeds.
wait_for() {
	local what=$1 secs=$2
	shift 2
	for _ in $(seq "$secs"); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 1
	done
	log "$what did not come up in ${secs}s; its log:"
	tail -n 30 "$K8S_ROOT/log/$what.log" >&2 || true
	return 1
}

pause_image() {
	"${CTR[@]}" images ls -q | grep -qx "$PAUSE_IMAGE" && return
	local tmp
	tmp=$(mktemp -d)
	cat >"$tmp/pause.c" <<'C'
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>
static void bye(int sig) { (void)sig; _exit(0); }
int main(void) {
	signal(SIGTERM, bye);
	signal(SIGINT, bye);
	for (;;) pause();
}
C
	gcc -static -O2 -o "$tmp/pause" "$tmp/pause.c"
	tar -C "$tmp" -cf "$tmp/rootfs.tar" pause
	docker import -c 'ENTRYPOINT ["/pause"]' "$tmp/rootfs.tar" "$PAUSE_IMAGE" >/dev/null
	docker save "$PAUSE_IMAGE" | "${CTR[@]}" images import - >/dev/null
	rm -rf "$tmp"
}

start() {
	build
	if [ -f "$K8S_ROOT/pid/kubelet" ] && kill -0 "$(cat "$K8S_ROOT/pid/kubelet")" 2>/dev/null; then
		log "already running (kubeconfig $K8S_ROOT/kubeconfig)"
		echo "$K8S_ROOT/kubeconfig"
		return
	fi
	mkdir -p "$K8S_ROOT"/{pki,etcd,cni,kubelet,containerd} "$K8S_RUN"
	local token
	[ -f "$K8S_ROOT/pki/sa.key" ] || openssl genrsa -out "$K8S_ROOT/pki/sa.key" 2048 2>/dev/null
	openssl rsa -in "$K8S_ROOT/pki/sa.key" -pubout -out "$K8S_ROOT/pki/sa.pub" 2>/dev/null
	[ -f "$K8S_ROOT/token" ] || head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$K8S_ROOT/token"
	token=$(cat "$K8S_ROOT/token")
	echo "$token,admin,admin,system:masters" >"$K8S_ROOT/tokens.csv"
	cat >"$K8S_ROOT/kubeconfig" <<YAML
apiVersion: v1
kind: Config
clusters:
- name: magents-k8s
  cluster:
    server: https://127.0.0.1:6443
    insecure-skip-tls-verify: true
users:
- name: admin
  user:
    token: $token
contexts:
- name: magents-k8s
  context:
    cluster: magents-k8s
    user: admin
    namespace: default
current-context: magents-k8s
YAML
	chmod 0600 "$K8S_ROOT/kubeconfig"

	spawn etcd etcd --name magents --data-dir "$K8S_ROOT/etcd" \
		--listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
		--listen-peer-urls http://127.0.0.1:2380
	wait_for etcd 30 curl -fsS http://127.0.0.1:2379/health

	spawn kube-apiserver "$K8S_BIN/kube-apiserver" --etcd-servers=http://127.0.0.1:2379 \
		--bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port=6443 \
		--cert-dir="$K8S_ROOT/pki" --token-auth-file="$K8S_ROOT/tokens.csv" --authorization-mode=AlwaysAllow \
		--service-account-issuer=https://kubernetes.default.svc --service-account-key-file="$K8S_ROOT/pki/sa.pub" \
		--service-account-signing-key-file="$K8S_ROOT/pki/sa.key" --service-cluster-ip-range=10.96.0.0/16 \
		--allow-privileged=true --kubelet-preferred-address-types=Hostname
	wait_for kube-apiserver 90 curl -fsSk -H "Authorization: Bearer $token" https://127.0.0.1:6443/readyz

	spawn kube-controller-manager "$K8S_BIN/kube-controller-manager" --kubeconfig="$K8S_ROOT/kubeconfig" \
		--service-account-private-key-file="$K8S_ROOT/pki/sa.key" --root-ca-file="$K8S_ROOT/pki/apiserver.crt" \
		--leader-elect=false --bind-address=127.0.0.1 --secure-port=10257 --use-service-account-credentials=false
	spawn kube-scheduler "$K8S_BIN/kube-scheduler" --kubeconfig="$K8S_ROOT/kubeconfig" \
		--leader-elect=false --bind-address=127.0.0.1 --secure-port=10259

	cat >"$K8S_ROOT/containerd.toml" <<TOML
version = 2
root = "$K8S_ROOT/containerd"
state = "$K8S_RUN/containerd-state"
[grpc]
  address = "$K8S_RUN/containerd.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # Without this, sandboxes fail: runc cannot write oom_score_adj here.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$K8S_ROOT/cni"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
TOML
	cat >"$K8S_ROOT/cni/10-magents.conflist" <<'JSON'
{
  "cniVersion": "1.0.0",
  "name": "magents-k8s",
  "plugins": [
    {"type": "bridge", "bridge": "magents-k8s0", "isGateway": true, "ipMasq": true,
     "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.244.0.0/24"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
JSON
	spawn containerd containerd --config "$K8S_ROOT/containerd.toml"
	wait_for containerd 30 "${CTR[@]}" version
	pause_image

	cat >"$K8S_ROOT/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# This host has cgroup v1: kubelet 1.35+ refuses it unless told here (flags cannot).
failCgroupV1: false
cgroupDriver: cgroupfs
failSwapOn: false
containerRuntimeEndpoint: unix://$K8S_RUN/containerd.sock
address: 127.0.0.1
port: 10250
readOnlyPort: 0
authentication:
  anonymous:
    enabled: true
  webhook:
    enabled: false
authorization:
  mode: AlwaysAllow
resolvConf: /etc/resolv.conf
evictionHard:
  memory.available: "100Mi"
  nodefs.available: "1%"
  imagefs.available: "1%"
imageGCHighThresholdPercent: 100
YAML
	# A node IP may not be loopback: the node is named localhost instead, and the API server
	# reaches the kubelet (on 127.0.0.1 only) by that name.
	spawn kubelet "$K8S_BIN/kubelet" --config="$K8S_ROOT/kubelet.yaml" --kubeconfig="$K8S_ROOT/kubeconfig" \
		--root-dir="$K8S_ROOT/kubelet" --hostname-override=localhost
	wait_for kubelet 120 node_ready "$token"
	log "single-node cluster up: KUBECONFIG=$K8S_ROOT/kubeconfig"
	echo "$K8S_ROOT/kubeconfig"
}

node_ready() {
	curl -fsSk -H "Authorization: Bearer $1" https://127.0.0.1:6443/api/v1/nodes/localhost |
		tr -d ' \n' | grep -q '"type":"Ready","status":"True"'
}

stop() {
	local name pid
	# The kubelet first, then every pod container while containerd still answers.
	stop_process kubelet
	if [ -S "$K8S_RUN/containerd.sock" ]; then
		for id in $("${CTR[@]}" tasks ls -q 2>/dev/null); do
			"${CTR[@]}" tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true
		done
		sleep 1
		for id in $("${CTR[@]}" tasks ls -q 2>/dev/null); do
			"${CTR[@]}" tasks delete -f "$id" >/dev/null 2>&1 || true
		done
	fi
	for name in kube-scheduler kube-controller-manager kube-apiserver containerd etcd; do
		stop_process "$name"
	done
	# Shims of tasks that did not go (ours only: they name our containerd's socket).
	pkill -9 -f "containerd-shim-runc-v2 .*-address $K8S_RUN/containerd.sock" 2>/dev/null || true
	grep " $K8S_ROOT/" /proc/mounts | cut -d' ' -f2 | sort -r | xargs -r umount -l 2>/dev/null || true
	ip link delete magents-k8s0 2>/dev/null || true
	log "stopped"
}

stop_process() {
	local name=$1 pid
	[ -f "$K8S_ROOT/pid/$name" ] || return 0
	pid=$(cat "$K8S_ROOT/pid/$name")
	if kill -0 "$pid" 2>/dev/null; then
		kill "$pid"
		for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
		kill -9 "$pid" 2>/dev/null || true
	fi
	rm -f "$K8S_ROOT/pid/$name"
}

load() {
	local image=$1
	docker save "$image" | "${CTR[@]}" images import - >/dev/null
	log "loaded $image into the cluster's containerd"
}

case "${1:-}" in
build) stage kubernetes-build build ;;
start) stage kubernetes-start start ;;
stop) stop ;;
load) load "$2" ;;
*)
	echo "usage: $0 build|start [ROOT]|stop [ROOT]|load IMAGE" >&2
	exit 2
	;;
esac
