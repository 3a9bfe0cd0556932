#!/usr/bin/env bash
# Provisions everything `make test` needs on a bare Debian 12 machine (as root), using only
# Debian's packages, the Go module proxy and the npm registry. Idempotent and cached:
# a warm machine only checks. Prints each stage's wall time.
. "$(dirname "$0")/lib.sh"
here=$(dirname "$0")

start=$(date +%s)
stage engine bash "$here/install-engine.sh"
# The Kubernetes binaries take the longest to build: start them now, so their downloads
# and the stages that mostly wait on disk and network overlap with them.
k8s_log=$(mktemp)
bash "$here/kubernetes.sh" build >"$k8s_log" 2>&1 &
k8s_pid=$!
stage tools bash "$here/build-tools.sh"
stage base-images bash "$here/seed-base-images.sh"
stage engine-current-image bash "$here/engine-current.sh" image
k8s_rc=0
wait "$k8s_pid" || k8s_rc=$?
cat "$k8s_log" >&2
rm -f "$k8s_log"
[ "$k8s_rc" = 0 ] || { log "building Kubernetes failed"; exit 1; }
log "provisioning done in $(($(date +%s) - start))s"
