#!/usr/bin/env bash
# make bump-claude VERSION=X.Y.Z pins Claude Code X.Y.Z: its version in images/Dockerfile.claude,
# docker-bake.hcl and images/targets.go, and in the Dockerfile the sha512 of each
# architecture's npm package, from the registry's dist.integrity, which the build checks
# the download against. Review the diff, then build and test.
#   hack/bump-claude.sh VERSION [ROOT]     ROOT: the checkout to change (default: this one)
# NPM_REGISTRY overrides the registry; CA_CERT (or SSL_CERT_FILE) adds CA certificates.
set -euo pipefail
version=${1:?usage: hack/bump-claude.sh VERSION [ROOT]}
root=${2:-$(cd "$(dirname "$0")/.." && pwd)}
registry=${NPM_REGISTRY:-https://registry.npmjs.org}
if ! [[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
	echo "bump-claude: '$version' is not a release version (X.Y.Z)" >&2
	exit 2
fi
curl_ca=()
ca=${CA_CERT:-${SSL_CERT_FILE:-}}
[ -z "$ca" ] || curl_ca=(--cacert "$ca")

declare -A sha
for arch in x64 arm64; do
	pkg="@anthropic-ai/claude-code-linux-$arch"
	meta=$(curl -fsS --retry 3 "${curl_ca[@]}" "$registry/$pkg/$version") || {
		echo "bump-claude: $pkg@$version is not in $registry" >&2
		exit 1
	}
	integrity=$(printf '%s' "$meta" | grep -o '"integrity": *"sha512-[A-Za-z0-9+/=]*"' | sed 's/.*"sha512-\(.*\)"/\1/' || true)
	[ -n "$integrity" ] || { echo "bump-claude: $pkg@$version has no sha512 integrity in $registry" >&2; exit 1; }
	sha[$arch]=$(printf '%s' "$integrity" | base64 -d | od -An -v -tx1 | tr -d ' \n')
	[ ${#sha[$arch]} = 128 ] || { echo "bump-claude: $pkg@$version: integrity $integrity is not a sha512" >&2; exit 1; }
done

dockerfile=$root/images/Dockerfile.claude
sed -i -E \
	-e "s/^(ARG CLAUDE_CODE_VERSION=).*/\1$version/" \
	-e "s/^(ARG CLAUDE_CODE_SHA512_X64=).*/\1${sha[x64]}/" \
	-e "s/^(ARG CLAUDE_CODE_SHA512_ARM64=).*/\1${sha[arm64]}/" \
	"$dockerfile"
sed -i -E "/^variable \"CLAUDE_CODE_VERSION\"/,/^}/ s/(default = \").*(\")/\1$version\2/" "$root/docker-bake.hcl"
sed -i -E "s/(\"CLAUDE_CODE_VERSION\": +\")[^\"]*(\")/\1$version\2/" "$root/images/targets.go"
echo "Claude Code $version pinned: x64 sha512 ${sha[x64]:0:16}…, arm64 sha512 ${sha[arm64]:0:16}…"
