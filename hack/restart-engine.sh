#!/usr/bin/env bash
# Restarts the engine DOCKER_HOST names, as an administrator would (the fault suite's
# "dockerd restarted" case): the nested current Engine by restarting its container, the host's
# dockerd by stopping it (SIGTERM, as systemctl stop does) and starting it again.
. "$(dirname "$0")/lib.sh"
here=$(dirname "$0")

nested=$(bash "$here/engine-current.sh" env | sed -n 's/^DOCKER_HOST=//p')
if [ -n "${DOCKER_HOST:-}" ] && [ "$DOCKER_HOST" = "$nested" ]; then
	exec bash "$here/engine-current.sh" restart
fi
# The host's dockerd, only when these scripts started it (install-engine.sh): a
# workstation's own engine is never restarted (exit 3 says so).
pid=$(cat /var/run/docker.pid 2>/dev/null || true)
if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
	log "no dockerd runs here to restart (/var/run/docker.pid)"
	exit 1
fi
if ! dockerd_ours; then
	log "the dockerd here ($pid) was not started by these scripts: not restarting it"
	exit 3
fi
log "stopping dockerd ($pid)"
kill -TERM "$pid"
for _ in $(seq 1 60); do
	kill -0 "$pid" 2>/dev/null || break
	sleep 1
done
if kill -0 "$pid" 2>/dev/null; then
	log "dockerd ($pid) did not stop within 60s"
	exit 1
fi
exec bash "$here/install-engine.sh"
