#!/usr/bin/env bash
# Builds the compose v2 and buildx CLI plugins and buildkitd from the Go module proxy
# (go install refuses those modules because of their go.mod directives, so each is built
# from a throwaway module), caches the binaries under $MAGENTS_CACHE/tools/<name>-<version>,
# and installs the plugins into $CLI_PLUGINS_DIR. Idempotent: a cached binary is reused.
. "$(dirname "$0")/lib.sh"

# build NAME VERSION MODULE PACKAGE
build() {
	# module is kept for the cache key's readability; go get resolves the package itself.
	local name=$1 version=$2 module=$3 pkg=$4
	local out=$MAGENTS_CACHE/tools/$name-$version/$name
	if [ -x "$out" ]; then
		echo "$out"
		return
	fi
	local tmp
	tmp=$(mktemp -d)
	log "building $name $version from $pkg"
	(
		cd "$tmp"
		go mod init magents.local/build-$name >/dev/null 2>&1
		GOFLAGS=-mod=mod go get "$pkg@$version" >&2
		CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$tmp/$name" "$pkg" >&2
	)
	mkdir -p "$(dirname "$out")"
	mv "$tmp/$name" "$out"
	rm -rf "$tmp"
	echo "$out"
}

install_plugin() {
	mkdir -p "$CLI_PLUGINS_DIR"
	install -m 0755 "$1" "$CLI_PLUGINS_DIR/$2"
}

what=${1:-all}
if [ "$what" = all ] || [ "$what" = compose ]; then
	bin=$(build docker-compose "$COMPOSE_VERSION" github.com/docker/compose/v5 github.com/docker/compose/v5/cmd)
	install_plugin "$bin" docker-compose
	log "compose: $(docker compose version)"
fi
if [ "$what" = all ] || [ "$what" = buildx ]; then
	bin=$(build docker-buildx "$BUILDX_VERSION" github.com/docker/buildx github.com/docker/buildx/cmd/buildx)
	install_plugin "$bin" docker-buildx
	log "buildx: $(docker buildx version)"
fi
if [ "$what" = all ] || [ "$what" = buildkitd ]; then
	bin=$(build buildkitd "$BUILDKIT_VERSION" github.com/moby/buildkit github.com/moby/buildkit/cmd/buildkitd)
	install -m 0755 "$bin" /usr/local/bin/buildkitd
	log "buildkitd: $(buildkitd --version)"
fi
