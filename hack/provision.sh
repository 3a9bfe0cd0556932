#!/usr/bin/env bash
# Provisions everything `make test` needs on a bare Debian 12 machine (as root), using only
# Debian's packages, the Go module proxy and the npm registry. Idempotent and cached:
# a warm machine only checks. Prints each stage's wall time.
. "$(dirname "$0")/lib.sh"
here=$(dirname "$0")

start=$(date +%s)
stage engine bash "$here/install-engine.sh"
stage tools bash "$here/build-tools.sh"
stage base-images bash "$here/seed-base-images.sh"
stage engine26-image bash "$here/engine26.sh" image
stage kubernetes bash "$here/kubernetes.sh" build
log "provisioning done in $(($(date +%s) - start))s"
