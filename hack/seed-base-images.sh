#!/usr/bin/env bash
# Seeds the base images the Dockerfile names into the engine's image store, with no registry:
#   debian:bookworm-slim   debootstrap --variant=minbase from a Debian mirror, slimmed the way
#                          Debian's own image builder (debuerreotype) slims its -slim images
#   golang:1.26-bookworm   that base plus the host's Go toolchain (GOROOT)
# The rootfs tarballs are cached under $MAGENTS_CACHE/rootfs, so a warm machine only imports.
# Idempotent: an image already in the store is kept (--force re-imports).
. "$(dirname "$0")/lib.sh"

SUITE=${SUITE:-bookworm}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
BASE_TAG=${BASE_TAG:-debian:$SUITE-slim}
GO_TAG=${GO_TAG:-golang:$(go env GOVERSION | sed -E 's/^go([0-9]+\.[0-9]+).*/\1/')-$SUITE}
force=false
base_only=false
for arg in "$@"; do
	case $arg in
	--force) force=true ;;
	--base-only) base_only=true ;;
	esac
done

have_image() { ! $force && docker image inspect "$1" >/dev/null 2>&1; }

rootfs_tar() {
	local tar=$MAGENTS_CACHE/rootfs/$SUITE-slim.tar
	# (trixie for the nested test engine, bookworm for the agent image)
	if [ -s "$tar" ]; then
		echo "$tar"
		return
	fi
	mkdir -p "$(dirname "$tar")"
	local dir
	dir=$(mktemp -d)
	log "debootstrap $SUITE (minbase) from $MIRROR"
	debootstrap --variant=minbase --no-check-gpg "$SUITE" "$dir" "$MIRROR" >&2 ||
		{ tail -20 "$dir/debootstrap/debootstrap.log" >&2 || true; exit 1; }
	slim "$dir"
	tar --numeric-owner -C "$dir" -cf "$tar.tmp" .
	mv "$tar.tmp" "$tar"
	rm -rf "$dir"
	echo "$tar"
}

# slim mirrors debuerreotype-slimify and debuerreotype-minimizing-config: keep later apt
# installs from bringing docs, man pages and locales back, and drop what is there now.
slim() {
	local dir=$1
	cat >"$dir/etc/dpkg/dpkg.cfg.d/docker" <<'CFG'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/info/*
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
CFG
	cat >"$dir/etc/apt/apt.conf.d/docker-clean" <<'CFG'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CFG
	cat >"$dir/etc/apt/apt.conf.d/docker-no-languages" <<'CFG'
Acquire::Languages "none";
CFG
	cat >"$dir/etc/apt/apt.conf.d/docker-autoremove-suggests" <<'CFG'
Apt::AutoRemove::SuggestsImportant "false";
CFG
	cat >"$dir/etc/apt/apt.conf.d/docker-gzip-indexes" <<'CFG'
Acquire::GzipIndexes "true";
CFG
	printf 'deb %s %s main\ndeb %s %s-updates main\ndeb http://deb.debian.org/debian-security %s-security main\n' \
		"$MIRROR" "$SUITE" "$MIRROR" "$SUITE" "$SUITE" >"$dir/etc/apt/sources.list"
	find "$dir/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
	find "$dir/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
	rm -rf "$dir"/usr/share/{info,man,groff,linda,lintian}/* "$dir"/var/cache/apt/* "$dir"/var/lib/apt/lists/* \
		"$dir"/var/log/* "$dir"/tmp/* "$dir"/var/tmp/* "$dir"/debootstrap
	find "$dir/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} + 2>/dev/null || true
	: >"$dir/etc/machine-id"
	echo "$SUITE-slim" >"$dir/etc/hostname"
}

if have_image "$BASE_TAG"; then
	log "$BASE_TAG is in the image store"
else
	tar=$(rootfs_tar)
	docker import --change 'CMD ["bash"]' "$tar" "$BASE_TAG" >/dev/null
	log "imported $BASE_TAG ($(docker image inspect -f '{{.Size}}' "$BASE_TAG" | awk '{printf "%.0f MB", $1/1e6}'))"
fi

if $base_only; then
	exit 0
fi
if have_image "$GO_TAG"; then
	log "$GO_TAG is in the image store"
else
	goroot=$(go env GOROOT)
	gotar=$MAGENTS_CACHE/rootfs/$SUITE-$(go env GOVERSION).tar
	if [ ! -s "$gotar" ]; then
		tar=$(rootfs_tar)
		tmp=$(mktemp -d)
		mkdir -p "$tmp/usr/local"
		cp -a "$goroot" "$tmp/usr/local/go"
		rm -rf "$tmp/usr/local/go/pkg/tool/"*/{pprof,trace} "$tmp/usr/local/go/test" "$tmp/usr/local/go/api"
		cp "$tar" "$gotar.tmp"
		tar --numeric-owner -C "$tmp" -rf "$gotar.tmp" ./usr/local/go
		mv "$gotar.tmp" "$gotar"
		rm -rf "$tmp"
	fi
	docker import \
		--change 'ENV PATH=/usr/local/go/bin:/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
		--change 'ENV GOPATH=/go' --change 'ENV GOTOOLCHAIN=local' --change 'WORKDIR /go' --change 'CMD ["bash"]' \
		"$gotar" "$GO_TAG" >/dev/null
	log "imported $GO_TAG from $(go env GOVERSION)"
fi
