#!/usr/bin/env bash
# The inner loop: unit tests, a fuzz smoke, and the e2e tests a change touches, on one
# engine (the machine's own; ENGINES=current for the nested one). The change is what
# differs from QUICK_BASE (default HEAD: uncommitted and untracked files), or, with no
# such files, the last commit. Prints each stage's wall time and the e2e pattern it chose.
#   hack/test-quick.sh            (make test-quick; QUICK_PLAN=1 prints the e2e pattern only)
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/.."

base=${QUICK_BASE:-HEAD}
changed=$( (git diff --name-only "$base"; git ls-files --others --exclude-standard) | sort -u)
if [ -z "$changed" ] && [ "$base" = HEAD ]; then
	changed=$(git diff --name-only HEAD~1 HEAD)
fi

# Which e2e tests each part of the tree reaches (always: the plugin answers at all).
declare -A tests=()
add() { for t in "$@"; do tests[$t]=1; done; }
add TestPluginIsListedAndAnswers
k8s=0
for f in $changed; do
	case $f in
	e2e/*_test.go)
		[ -f "$f" ] && for t in $(grep -oE '^func (Test[A-Za-z0-9_]+)' "$f" | cut -d' ' -f2); do add "$t"; done ;;
	images/supervisor/proxy/* | images/supervisor/egress/* | images/supervisor/agentconn/* | images/supervisor/agent/egress*) add TestEgressAllowlist TestEgressIPv6 TestEscapeNetwork ;;
	images/supervisor/*) add TestHealthcheckFollowsTheSession TestCloudRunHealthEndpoint TestFaultClaudeKilled \
		TestFaultTmuxKilled TestFaultCorruptClaudeState TestFleetHooksAndClaudeCommits TestFleetHeadless ;;
	images/* | internal/buildkit/* | plugin/build*.go | docker-bake.hcl) add TestBuildEachTarget TestLatestFitsItsBudget \
		TestWarmRebuildIsFullyCached TestBuildErrorNamesTheFailingStep TestPrintMatchesBake TestBakeBuildsLatest TestPlainDockerBuild ;;
	internal/k8s/* | plugin/*k8s*.go | templates/k8s/*) k8s=1; add TestDeployKubernetes TestDeployRender ;;
	internal/deploy/* | plugin/deploy*.go | templates/*) add TestDeployRender TestDeploySwarm ;;
	internal/swarmstack/* | compose/stack*) add TestDeploySwarm ;;
	internal/auth/* | internal/fleetauth/* | plugin/auth*.go) add TestAuthCanaryNeverLeaks TestAuthDeploy TestAuthSetupStatusExport ;;
	internal/workspace/* | internal/agentclone/* | plugin/diff.go | plugin/merge.go | plugin/worktree.go)
		add TestFleetClones TestCloneIsTheDefaultForARootOwnedCheckout TestFleetWorktrees TestEscapeWorktreeGit ;;
	internal/sharedconfig/* | plugin/config*.go) add TestSharedConfig ;;
	internal/doctor/* | plugin/doctor.go) add TestDoctor ;;
	plugin/task.go | plugin/results.go) add TestFleetTasks TestFleetHeadless ;;
	internal/fleetstatus/* | plugin/ps.go | plugin/wait.go) add TestFleetUpAttachScaleDown TestFaultClaudeKilled ;;
	compose/* | internal/fleet/* | internal/agentspec/* | plugin/up.go | plugin/down.go | plugin/root.go)
		add TestFleetUpAttachScaleDown TestUpRefusesBadInput TestLeastPrivilege TestEscapeChangedDefinition ;;
	plugin/attach.go | plugin/exec.go | plugin/logs.go) add TestFleetUpAttachScaleDown ;;
	internal/devcontainer/* | internal/agentimage/* | internal/fleetops/*) add TestDevcontainerImage TestDevcontainerHostile TestUpRefusesBadInput ;;
	internal/fleetruntime/*) add TestFleetUpAttachScaleDown TestDeploySwarm TestDashboard ;;
	esac
done
pattern="^($(printf '%s\n' "${!tests[@]}" | sort | paste -sd'|'))\$"

if [ "${QUICK_PLAN:-0}" = 1 ]; then # only say what would run
	echo "$pattern"
	exit 0
fi
start=$(date +%s)
make test-unit || exit 1
stage=$(date +%s)
make test-fuzz FUZZTIME=2s || exit 1
log "stage fuzz-smoke: $(($(date +%s) - stage))s"
log "changed: $(echo "$changed" | wc -l) file(s); e2e: $pattern"
E2E_RUN=$pattern E2E_K8S=$k8s bash hack/test-e2e.sh ${ENGINES:-host} || exit 1
log "test-quick: done in $(($(date +%s) - start))s"
