#!/usr/bin/env bash
# Runs the e2e suites against each engine of the matrix, printing each pass's wall time.
# ENGINES: "host" (the machine's own engine, Debian 12's 20.10 in CI: the oldest supported)
# and "current" (moby v2, API 1.56, with containerd v2 and the containerd image store,
# nested; hack/engine-current.sh).
#   hack/test-e2e.sh [ENGINE...]      default: host current
# The passes run in turn; E2E_PARALLEL=1 runs them side by side, each line prefixed with
# its engine, and the host's engine-restart test after them, since restarting the host's
# dockerd stops the nested engine with it (it did not pay on 2 cores: 2044s side by
# side, with both passes building their images, against 1902s in turn with the images
# cached). E2E_RUN (a go test -run pattern) and E2E_FLAGS pass through; suites marked
# parallel (e2e's parallelSuite) run E2E_PARALLEL_TESTS (default 3) at a time: they mostly wait on containers, and 3 on 2 cores took less than 2.
# With more than one engine, the last (the newest) runs every suite and the others the
# suites whose outcome is the engine's (e2e's everyEngine); the others (anyEngine) skip
# there (MAGENTS_E2E_SUITES=engine; E2E_SUITES=all runs everything on every engine).
. "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."

engines=("$@")
[ ${#engines[@]} -gt 0 ] || engines=(host current)
# Test workspaces live here, mounted at the same path into a nested engine's container,
# so bind mounts name the same directory on both sides.
E2E_ROOT=${E2E_ROOT:-/var/tmp/magents-e2e}
mkdir -p "$E2E_ROOT"
restart_test=TestFaultEngineRestarted

run_suite() {
	# Kept for the table of the slowest tests (slowest).
	(
		set -o pipefail
		TMPDIR=$E2E_ROOT go test -count=1 -tags e2e -timeout 40m -v -parallel "${E2E_PARALLEL_TESTS:-3}" -run "${E2E_RUN:-.}" ${E2E_SKIP:+-skip "$E2E_SKIP"} ${E2E_FLAGS:-} ./e2e/... 2>&1 |
			tee "$E2E_ROOT/go-test-${E2E_ENGINE:-e2e}.log"
	)
}

# slowest ENGINE prints the pass's slowest tests (E2E_SLOWEST, default 10), top-level
# ones, each with its time and outcome: where a run's time goes, at the end of every run.
slowest() {
	local out=$E2E_ROOT/go-test-$1.log
	[ -s "$out" ] || return 0
	log "stage test-e2e[$1]: the slowest tests"
	sed -nE 's/^--- (PASS|FAIL|SKIP): ([^ ]+) \(([0-9.]+)s\)$/\3 \1 \2/p' "$out" | sort -rn | head -n "${E2E_SLOWEST:-10}" |
		awk '{ printf "  %8.1fs  %-4s  %s\n", $1, $2, $3 }'
}

# run_engine ENGINE runs the suites against one engine.
run_engine() {
	local engine=$1 rc=0
	case $engine in
	host)
		# The single-node Kubernetes cluster the deploy k8s test applies to: once, in this
		# pass (it imports images from this engine). E2E_K8S=0 leaves it out.
		local kubeconfig=
		if [ "${E2E_K8S:-1}" != 0 ]; then
			kubeconfig=$(bash "$here/kubernetes.sh" start) || { rc=1; kubeconfig=; }
		fi
		(unset DOCKER_HOST DOCKER_CONTEXT; MAGENTS_E2E_KUBECONFIG=$kubeconfig run_suite) || rc=1
		[ -z "$kubeconfig" ] || bash "$here/kubernetes.sh" stop
		;;
	current)
		bash "$here/engine-current.sh" start "$E2E_ROOT" || return 1
		(
			eval "$(bash "$here/engine-current.sh" env)"
			export DOCKER_HOST MAGENTS_E2E_HOST_ADDR
			run_suite
		) || rc=1
		bash "$here/engine-current.sh" stop
		;;
	*)
		log "unknown engine $engine (host, current)"
		return 2
		;;
	esac
	return $rc
}

# suites_for ENGINE: "all" on the newest engine of this run, "engine" on the others.
suites_for() {
	if [ -n "${E2E_SUITES:-}" ]; then
		echo "$E2E_SUITES"
	elif [ "$1" = "${engines[${#engines[@]}-1]}" ]; then
		echo all
	else
		echo engine
	fi
}

timed() {
	local engine=$1 start rc=0
	start=$(date +%s)
	log "stage test-e2e[$engine]: suites: $(suites_for "$engine")"
	E2E_ENGINE=$engine MAGENTS_E2E_SUITES=$(suites_for "$engine") run_engine "$engine" || rc=$?
	slowest "$engine"
	log "stage test-e2e[$engine]: $([ $rc -eq 0 ] && echo pass || echo FAIL) in $(($(date +%s) - start))s"
	return $rc
}

rc=0
if [ ${#engines[@]} -eq 1 ] || [ "${E2E_PARALLEL:-0}" != 1 ]; then
	for engine in "${engines[@]}"; do
		timed "$engine" || rc=1
	done
	exit $rc
fi

start=$(date +%s)
pids=()
for engine in "${engines[@]}"; do
	skip=
	[ "$engine" != host ] || skip="^$restart_test\$"
	(
		set -o pipefail
		E2E_SKIP=$skip timed "$engine" 2>&1 | sed -u "s/^/[$engine] /"
	) &
	pids+=($!)
done
for pid in "${pids[@]}"; do
	wait "$pid" || rc=1
done
if [[ " ${engines[*]} " == *" host "* ]] && echo "$restart_test" | grep -qE -- "${E2E_RUN:-.}"; then
	E2E_RUN="^$restart_test\$" E2E_K8S=0 timed host || rc=1
fi
log "stage test-e2e: $([ $rc -eq 0 ] && echo pass || echo FAIL) in $(($(date +%s) - start))s (engines side by side)"
exit $rc
