#!/usr/bin/env bash
# Runs the e2e suites against each engine of the matrix in turn, printing each pass's wall
# time. ENGINES: "host" (the machine's own engine, Debian 12's 20.10 in CI) and "engine26"
# (Debian 13's Engine 26.1 with the containerd image store, nested; hack/engine26.sh).
#   hack/test-e2e.sh [ENGINE...]      default: host engine26
# E2E_RUN (a go test -run pattern) and E2E_FLAGS pass through.
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."

engines=("$@")
[ ${#engines[@]} -gt 0 ] || engines=(host engine26)
# Test workspaces live here, mounted at the same path into a nested engine's container,
# so bind mounts name the same directory on both sides.
E2E_ROOT=${E2E_ROOT:-/var/tmp/magents-e2e}
mkdir -p "$E2E_ROOT"

run_suite() {
	TMPDIR=$E2E_ROOT go test -count=1 -tags e2e -timeout 40m -v -run "${E2E_RUN:-.}" ${E2E_FLAGS:-} ./e2e/...
}

rc=0
for engine in "${engines[@]}"; do
	start=$(date +%s)
	case $engine in
	host)
		# The single-node Kubernetes cluster the deploy k8s test applies to: once, in this
		# pass (it imports images from this engine). E2E_K8S=0 leaves it out.
		kubeconfig=
		if [ "${E2E_K8S:-1}" != 0 ]; then
			kubeconfig=$(bash "$here/kubernetes.sh" start) || { rc=1; kubeconfig=; }
		fi
		(unset DOCKER_HOST DOCKER_CONTEXT; MAGENTS_E2E_KUBECONFIG=$kubeconfig run_suite) || rc=1
		[ -z "$kubeconfig" ] || bash "$here/kubernetes.sh" stop
		;;
	engine26)
		bash "$here/engine26.sh" start "$E2E_ROOT" || { rc=1; continue; }
		(
			eval "$(bash "$here/engine26.sh" env)"
			export DOCKER_HOST MAGENTS_E2E_HOST_ADDR
			run_suite
		) || rc=1
		bash "$here/engine26.sh" stop
		;;
	*)
		log "unknown engine $engine (host, engine26)"
		exit 2
		;;
	esac
	log "stage test-e2e[$engine]: $([ $rc -eq 0 ] && echo pass || echo FAIL) in $(($(date +%s) - start))s"
done
exit $rc
