#!/usr/bin/env bash
# Builds the compose v2 and buildx CLI plugins, buildkitd and docker-credential-pass from the Go module proxy,
# and installs the Dev Containers CLI from the npm registry
# (go install refuses those modules because of their go.mod directives, so each is built
# from a throwaway module), caches the binaries under $MAGENTS_CACHE/tools/<name>-<version>,
# and installs the plugins into $CLI_PLUGINS_DIR. Idempotent: a cached binary is reused.
# A plugin or tool the machine already has of its own is kept (lib.sh's install_file).
. "$(dirname "$0")/lib.sh"

# build NAME VERSION PACKAGE [LDFLAGS [TAGS]]: static, unless CGO=1 (then linked against
# the build machine's glibc and the libraries TAGS need).
build() {
	local name=$1 version=$2 pkg=$3 ldflags=${4:-} tags=${5:-}
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
		CGO_ENABLED=${CGO:-0} go build -trimpath -tags "$tags" -ldflags "-s -w $ldflags" -o "$tmp/$name" "$pkg" >&2
	)
	mkdir -p "$(dirname "$out")"
	mv "$tmp/$name" "$out"
	rm -rf "$tmp"
	echo "$out"
}

# install_plugin BIN NAME: a CLI plugin, unless the machine has its own (install_file).
install_plugin() { install_file "$1" "$CLI_PLUGINS_DIR/$2" "${2#docker-}"; }

what=${1:-all}
if [ "$what" = all ] || [ "$what" = compose ]; then
	bin=$(build docker-compose "$COMPOSE_VERSION" github.com/docker/compose/v5/cmd \
		"-X github.com/docker/compose/v5/internal.Version=$COMPOSE_VERSION")
	install_plugin "$bin" docker-compose
	log "compose: $(docker compose version)"
fi
if [ "$what" = all ] || [ "$what" = buildx ]; then
	bin=$(build docker-buildx "$BUILDX_VERSION" github.com/docker/buildx/cmd/buildx \
		"-X github.com/docker/buildx/version.Version=$BUILDX_VERSION -X github.com/docker/buildx/version.Package=github.com/docker/buildx")
	install_plugin "$bin" docker-buildx
	log "buildx: $(docker buildx version)"
fi
if [ "$what" = all ] || [ "$what" = buildkitd ]; then
	bin=$(build buildkitd "$BUILDKIT_VERSION" github.com/moby/buildkit/cmd/buildkitd \
		"-X github.com/moby/buildkit/version.Version=$BUILDKIT_VERSION -X github.com/moby/buildkit/version.Package=github.com/moby/buildkit")
	install_file "$bin" /usr/local/bin/buildkitd
	log "buildkitd: $(buildkitd --version)"
fi
if [ "$what" = all ] || [ "$what" = credential-pass ]; then
	bin=$(build docker-credential-pass "$CREDENTIAL_HELPERS_VERSION" github.com/docker/docker-credential-helpers/pass/cmd \
		"-X github.com/docker/docker-credential-helpers/credentials.Version=$CREDENTIAL_HELPERS_VERSION")
	install_file "$bin" /usr/local/bin/docker-credential-pass
	log "docker-credential-pass: $(docker-credential-pass version)"
fi
if [ "$what" = all ] || [ "$what" = devcontainer-cli ]; then
	# From the npm registry, into the cache: nothing is installed on the host but Node.js
	# itself when the machine has none (Debian's).
	dir=$MAGENTS_CACHE/tools/devcontainers-cli-$DEVCONTAINERS_CLI_VERSION
	if [ ! -f "$dir/node_modules/@devcontainers/cli/devcontainer.js" ]; then
		if ! command -v npm >/dev/null; then
			log "installing Node.js and npm (Debian's) for the Dev Containers CLI"
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >&2
		fi
		mkdir -p "$dir"
		npm install --no-audit --no-fund --silent --prefix "$dir" "@devcontainers/cli@$DEVCONTAINERS_CLI_VERSION" >&2
	fi
	log "devcontainer CLI: $(node "$dir/node_modules/@devcontainers/cli/devcontainer.js" --version)"
fi
if [ "$what" = moby ]; then
	# Not installed on the host: hack/engine-current.sh copies them into its nested image.
	build dockerd "$MOBY_VERSION" github.com/moby/moby/v2/cmd/dockerd \
		"-X github.com/moby/moby/v2/dockerversion.Version=$MOBY_ENGINE_VERSION -X github.com/moby/moby/v2/dockerversion.GitCommit=$MOBY_VERSION" >/dev/null
	build docker-proxy "$MOBY_VERSION" github.com/moby/moby/v2/cmd/docker-proxy >/dev/null
	build containerd "$CONTAINERD_VERSION" github.com/containerd/containerd/v2/cmd/containerd \
		"-X github.com/containerd/containerd/v2/version.Version=$CONTAINERD_VERSION" >/dev/null
	build containerd-shim-runc-v2 "$CONTAINERD_VERSION" github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2 >/dev/null
	# Debian 12's and 13's runc (1.1) know no time namespace, which this engine's
	# containers have: runc itself, with seccomp (cgo, libseccomp-dev from Debian).
	CGO=1 build runc "$RUNC_VERSION" github.com/opencontainers/runc \
		"-X main.version=${RUNC_VERSION#v}" seccomp >/dev/null
	log "moby $MOBY_VERSION (Engine $MOBY_ENGINE_VERSION), containerd $CONTAINERD_VERSION and runc $RUNC_VERSION: built in $MAGENTS_CACHE/tools"
fi
