#!/usr/bin/env bash
# Build (once per machine) and cache the real kube-apiserver 1.20.2 used by the
# Kubernetes integration tests. No binary package ships kube-apiserver, so we build
# Debian bullseye's `kubernetes` source package (vendored) with golang-1.15-go.
# Idempotent: prints the binary path and exits at once when it is already cached.
# Also installs etcd-server (bookworm), which the tests start next to the apiserver.
#
# Usage: scripts/k8s-apiserver.sh            -> prints the binary path
# Env:   WEBGATE_CACHE (default /var/cache/webgate)
set -euo pipefail

CACHE="${WEBGATE_CACHE:-/var/cache/webgate}"
VERSION="1.20.2"
BIN="$CACHE/kube-apiserver-$VERSION"
BUILD="$CACHE/build-kubernetes"

if [[ -x "$BIN" ]] && command -v etcd >/dev/null; then
  echo "$BIN"
  exit 0
fi

mkdir -p "$CACHE"
exec 9>"$CACHE/.kube-apiserver.lock"
flock 9  # a concurrent run waits, then finds the binary cached

SUDO=""
[[ $(id -u) -eq 0 ]] || SUDO="sudo"

if ! command -v etcd >/dev/null; then
  $SUDO apt-get install -y --no-install-recommends etcd-server >&2
fi

if [[ -x "$BIN" ]]; then
  echo "$BIN"
  exit 0
fi

# golang-1.15-go and the kubernetes 1.20 source live in bullseye; add its archive (binary
# and source) when the machine does not know it yet.
export DEBIAN_FRONTEND=noninteractive
BULLSEYE_LIST=/etc/apt/sources.list.d/webgate-bullseye.sources
added=""
if ! apt-cache policy golang-1.15-go 2>/dev/null | grep -q "bullseye"; then added="deb"; fi
if ! apt-cache showsrc kubernetes 2>/dev/null | grep -q "really1.20.2"; then added="${added:+$added }deb-src"; fi
if [[ -n "$added" ]]; then
  $SUDO tee "$BULLSEYE_LIST" >/dev/null <<SRC
Types: $added
URIs: http://deb.debian.org/debian
Suites: bullseye
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
  $SUDO apt-get update >&2
fi
if [[ ! -x /usr/lib/go-1.15/bin/go ]]; then
  $SUDO apt-get install -y --no-install-recommends -t bullseye golang-1.15-go >&2
fi
command -v dpkg-source >/dev/null || $SUDO apt-get install -y --no-install-recommends dpkg-dev >&2
command -v rsync >/dev/null || $SUDO apt-get install -y --no-install-recommends rsync >&2

mkdir -p "$BUILD"
cd "$BUILD"
if ! ls -d kubernetes-*/ >/dev/null 2>&1; then
  # Some mirrors keep only the orig tarball (the .dsc/.debian.tar.xz answer 404); the
  # upstream tree with its vendor/ directory is all the build needs.
  apt-get source --download-only kubernetes/bullseye >&2 || true
  if ls kubernetes_*.dsc >/dev/null 2>&1 && ls kubernetes_*.debian.tar.* >/dev/null 2>&1; then
    dpkg-source -x kubernetes_*.dsc >&2
  else
    orig=$(ls kubernetes_*.orig.tar.* | head -n1)
    [[ -n "$orig" ]] || { echo "could not download the kubernetes source package" >&2; exit 1; }
    mkdir -p kubernetes-src.tmp
    tar -xf "$orig" -C kubernetes-src.tmp --strip-components=1
    mv kubernetes-src.tmp kubernetes-src
  fi
fi
cd kubernetes-*/
export PATH="/usr/lib/go-1.15/bin:$PATH"
export GOFLAGS="${GOFLAGS:-}" GO111MODULE="${GO111MODULE:-}"
nice -n 10 make WHAT=cmd/kube-apiserver >&2
out=$(find _output -type f -name kube-apiserver -perm -u+x | head -n1)
[[ -n "$out" ]] || { echo "kube-apiserver build produced no binary" >&2; exit 1; }
install -m 0755 "$out" "$BIN.tmp"
mv "$BIN.tmp" "$BIN"
cd "$CACHE"
rm -rf "$BUILD"  # 1.6 GB of sources and objects; the binary is all later runs need
echo "$BIN"
