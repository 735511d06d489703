# shellcheck shell=bash
# Shared helpers for scripts/setup.sh and scripts/test.sh. Sourced, never run.
#
# Everything here is idempotent and cheap when there is nothing to do: packages are
# checked with dpkg before apt is touched, pip and npm are skipped when the files that
# drive them have not changed since the last successful run (stamps under .venv/).

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV="$REPO/.venv"
STAMPS="$VENV/.webgate-stamps"
export DEBIAN_FRONTEND=noninteractive

say()  { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
warn() { printf '\033[1;33mwarning:\033[0m %s\n' "$*" >&2; }
die()  { printf '\033[1;31merror:\033[0m %s\n' "$*" >&2; exit 1; }

# Root or sudo for apt. Without either we skip system packages and say what is missing.
if [ "$(id -u)" = 0 ]; then SUDO=""
elif command -v sudo >/dev/null 2>&1; then SUDO="sudo"
else SUDO="__none__"; fi

have_apt() { command -v apt-get >/dev/null 2>&1 && command -v dpkg-query >/dev/null 2>&1 && [ "$SUDO" != "__none__" ]; }

# Only "installed" counts: a half-installed package (interrupted dpkg) must be redone.
pkg_installed() { [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]; }

# Another apt/dpkg may be running (an engineer installing something, unattended
# upgrades): wait for its lock instead of failing.
# `env` because sudo drops DEBIAN_FRONTEND, and xrdp's dependencies ask questions.
apt_get() { $SUDO env DEBIAN_FRONTEND=noninteractive apt-get -y -q -o DPkg::Lock::Timeout=600 -o Acquire::Retries=3 "$@"; }
_apt_updated=""
apt_update() {
    [ -n "$_apt_updated" ] && return 0
    say "apt-get update"
    local i
    for i in 1 2 3; do
        if apt_get update >/dev/null; then _apt_updated=1; return 0; fi
        warn "apt-get update failed (try $i), retrying"; sleep 5
    done
    return 1
}

# apt_install PKG... : installs only the ones that are not installed yet.
apt_install() {
    local missing=() p
    for p in "$@"; do pkg_installed "$p" || missing+=("$p"); done
    [ ${#missing[@]} -eq 0 ] && return 0
    if ! have_apt; then
        warn "cannot install system packages (no apt, or not root and no sudo): ${missing[*]}"
        return 1
    fi
    apt_update || return 1
    say "apt-get install ${missing[*]}"
    apt_get install --no-install-recommends "${missing[@]}"
}

os_id() { (. /etc/os-release 2>/dev/null; echo "${ID:-unknown}"); }

# What running webgate needs from the system: a venv-capable Python, a compiler and
# headers for any dependency without a wheel, and Node.js + npm for the SPA build.
install_base_packages() {
    local pkgs=(ca-certificates build-essential python3-dev libffi-dev libssl-dev pkg-config)
    # Minimal images (debootstrap, containers) may have no Python at all.
    command -v "$PYTHON" >/dev/null 2>&1 || pkgs+=(python3)
    # python3-venv: Debian splits ensurepip out of python3; without it `python3 -m venv` fails.
    if ! "$PYTHON" -c 'import ensurepip, venv' >/dev/null 2>&1; then pkgs+=(python3-venv); fi
    # Node: keep whatever node the machine has (e.g. NodeSource's, which bundles npm and
    # conflicts with Debian's npm package); install Debian's only when there is none.
    command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
    command -v npm  >/dev/null 2>&1 || pkgs+=(npm)
    have_apt || { warn "no apt/root: assuming build tools, python3-venv and Node.js are present"; return 0; }
    apt_install "${pkgs[@]}" || die "could not install base packages: ${pkgs[*]}"
}

# webgate needs Python 3.11+ (pyproject.toml). Debian 12 and Ubuntu 24.04 have it;
# elsewhere install a newer one and point WEBGATE_PYTHON at it.
check_python() {
    command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found (set WEBGATE_PYTHON to a Python 3.11+)"
    "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
        die "$("$PYTHON" -V 2>&1) is too old: webgate needs Python 3.11+ (e.g. apt-get install python3.11 python3.11-venv, then WEBGATE_PYTHON=python3.11)"
}

# --- guacd --------------------------------------------------------------------------
# guacd speaks RDP and VNC to the targets and Guacamole's drawing protocol to webgate.
# Debian dropped it after bullseye, so on bookworm we add bullseye as an extra suite
# with a LOW pin (priority 100): apt takes from it only packages bookworm lacks.
GUAC_PKGS=(guacd libguac-client-rdp0 libguac-client-vnc0 libguac-client-ssh0 libguac-client-telnet0)

print_guacd_container_hint() {
    cat >&2 <<EOF

  guacd could not be installed from this system's packages.
  Run the official image instead (any machine with Docker or Podman):

    docker run -d --name webgate-guacd --restart unless-stopped \\
        -p 127.0.0.1:4822:4822 \\
        -v "$REPO/recordings:$REPO/recordings" \\
        guacamole/guacd:1.6.0

  The recordings volume must be mounted at the SAME path webgate uses, because
  webgate tells guacd where to write graphical recordings, and be writable by the
  image's uid 1000 (chown 1000:1000 "$REPO/recordings"). See guacd/README.md.
  Continuing without a local guacd: terminals work, remote desktops will not.

EOF
}

# The mirror this machine already uses for Debian (so a local/caching mirror keeps
# working); deb.debian.org otherwise.
debian_mirror() {
    local f=/etc/apt/sources.list.d/debian.sources uri=""
    if [ -r "$f" ]; then
        # first URIs: line of a stanza that is not the security archive
        uri=$(awk 'BEGIN{RS="";FS="\n"} !/debian-security/ { for(i=1;i<=NF;i++) if ($i ~ /^URIs:/) { sub(/^URIs:[ \t]*/,"",$i); split($i,a," "); print a[1]; exit } }' "$f")
    fi
    if [ -z "$uri" ] && [ -r /etc/apt/sources.list ]; then
        uri=$(awk '$1=="deb" && $0 !~ /security/ { for(i=2;i<=NF;i++) if ($i ~ /^(https?|file):/) { print $i; exit } }' /etc/apt/sources.list)
    fi
    echo "${uri:-http://deb.debian.org/debian}"
}

install_guacd() {
    if command -v guacd >/dev/null 2>&1 && pkg_installed libguac-client-rdp0 && pkg_installed libguac-client-vnc0; then
        return 0
    fi
    if ! have_apt; then warn "no apt/root: cannot install guacd"; print_guacd_container_hint; return 0; fi

    # 1. The distribution's own suites (Debian bullseye, Ubuntu universe) may have it.
    apt_update || true
    local policy; policy=$(apt-cache policy guacd 2>/dev/null || true)
    if [[ $policy == *"Candidate: "[0-9]* ]]; then
        say "installing guacd from the distribution's own packages"
        if apt_install "${GUAC_PKGS[@]}"; then return 0; fi
    fi

    # 2. Debian newer than bullseye: add bullseye with a low pin (as in TESTBED.md).
    if [ "$(os_id)" != debian ]; then print_guacd_container_hint; return 0; fi
    local mirror keyring=/usr/share/keyrings/debian-archive-keyring.gpg
    mirror=$(debian_mirror)
    [ -r "$keyring" ] || apt_install debian-archive-keyring || true
    say "adding Debian bullseye (pinned low, for guacd only) from $mirror"
    $SUDO tee /etc/apt/sources.list.d/bullseye.sources >/dev/null <<EOF
Types: deb
URIs: $mirror
Suites: bullseye
Components: main
Signed-By: $keyring
EOF
    printf 'Package: *\nPin: release n=bullseye\nPin-Priority: 100\n' | $SUDO tee /etc/apt/preferences.d/bullseye-low >/dev/null
    _apt_updated=""
    # Plain names, not "guacd/bullseye": these packages exist only in bullseye, so the
    # low pin still makes bullseye's their candidate, while every dependency that
    # bookworm also has comes from bookworm. With "/bullseye", apt resolves missing
    # dependencies from bullseye too and, on a fresh machine, runs into conflicts
    # (bullseye's libfreetype6 against bookworm's libharfbuzz0b).
    if apt_update && apt_install "${GUAC_PKGS[@]}"; then
        say "guacd $(guacd -v 2>&1 | head -n1 | grep -o '[0-9][0-9.]*' | head -n1) installed"
        return 0
    fi
    # Leave apt as we found it: a dead bullseye source would break every later update.
    warn "installing guacd from bullseye failed; removing the bullseye source again"
    $SUDO rm -f /etc/apt/sources.list.d/bullseye.sources /etc/apt/preferences.d/bullseye-low
    _apt_updated=""
    print_guacd_container_hint
}

# listening HOST PORT : true when something accepts TCP connections there.
listening() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" >/dev/null 2>&1; }

# Start a local guacd in the background unless something already listens on its port.
# It is detached (setsid) so that Ctrl-C on `webgate serve` does not kill it too;
# stop it with: kill "$(cat data/guacd.pid)".
start_guacd() {
    local addr="${WEBGATE_GUACD:-127.0.0.1:4822}"
    addr="${addr%%,*}"                        # a list: the first entry is the local one
    local host="${addr%:*}" port="${addr##*:}"
    if listening "$host" "$port"; then say "guacd already listening on $host:$port"; return 0; fi
    case "$host" in 127.0.0.1|localhost|::1) ;; *)
        warn "WEBGATE_GUACD points at $addr, which is not reachable; not starting a local one"; return 0;;
    esac
    if ! command -v guacd >/dev/null 2>&1; then
        warn "guacd is not installed; remote desktops will not work (see guacd/README.md)"; return 0
    fi
    mkdir -p "$DATA_DIR"
    say "starting guacd on $host:$port (log: $DATA_DIR/guacd.log)"
    # -f keeps it in the foreground of its own session so $! is guacd itself and its
    # log goes to a file (there is no syslog on minimal machines). guacd runs as a batch
    # task (SCHED_BATCH, inherited by its per-connection processes): it encodes the images
    # of every desktop, and a batch task that wakes up does not preempt the gateway while
    # it relays (guacd/README.md: the p99 delay of guacd's frames halved on 2 cores).
    local batch=()
    command -v chrt >/dev/null 2>&1 && batch=(chrt --batch 0)
    setsid "${batch[@]}" guacd -f -b "$host" -l "$port" -L info >"$DATA_DIR/guacd.log" 2>&1 </dev/null &
    echo $! >"$DATA_DIR/guacd.pid"
    local i
    for i in $(seq 1 50); do listening "$host" "$port" && return 0; sleep 0.1; done
    warn "guacd did not start listening on $host:$port; see $DATA_DIR/guacd.log"
}

# --- Python -------------------------------------------------------------------------
PYTHON="${WEBGATE_PYTHON:-python3}"

ensure_venv() {
    check_python
    if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c 'import sys' >/dev/null 2>&1; then
        :
    else
        say "creating virtualenv .venv with $("$PYTHON" -V 2>&1)"
        rm -rf "$VENV"
        "$PYTHON" -m venv "$VENV" || die "python3 -m venv failed (is python3-venv installed?)"
    fi
    mkdir -p "$STAMPS"
    # shellcheck disable=SC1091
    . "$VENV/bin/activate"
}

# pip_install_project EXTRAS EXTRA_PKGS... : `pip install -e .[EXTRAS]`, skipped when
# pyproject.toml (and the request) are unchanged since the last successful install.
pip_install_project() {
    local extras="$1"; shift
    [ -f "$REPO/pyproject.toml" ] || die "pyproject.toml not found in $REPO: the Python package is not there yet"
    local target="."; [ -n "$extras" ] && target=".[$extras]"
    local stamp="$STAMPS/pip-${extras:-base}" want
    want=$( { sha256sum "$REPO/pyproject.toml"; echo "$target $*"; "$VENV/bin/python" -V; } | sha256sum | cut -d' ' -f1)
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && "$VENV/bin/python" -c 'import webgate' >/dev/null 2>&1; then
        say "python package up to date (pip skipped)"
        return 0
    fi
    say "pip install -e '$target' $*"
    (cd "$REPO" && python -m pip install -q -e "$target" "$@") || die "pip install failed"
    echo "$want" >"$stamp"
}

# --- frontend -----------------------------------------------------------------------
# The SPA (frontend/, owned by the frontend engineer) builds into webgate/static/.
# Node comes from the machine, linked into the venv with nodeenv so that `npm` inside
# the venv is the one used; nodeenv never downloads a Node build here (-n system).
build_frontend() {
    if [ ! -f "$REPO/package.json" ]; then
        warn "package.json not found: skipping the frontend build (the UI will be missing)"
        return 0
    fi
    command -v node >/dev/null 2>&1 || die "node not found (apt-get install nodejs npm)"
    if [ ! -e "$VENV/bin/node" ]; then
        say "linking the system Node.js $(node -v) into .venv (nodeenv -p -n system)"
        python -m pip install -q nodeenv || die "pip install nodeenv failed"
        (cd "$REPO" && nodeenv -q -p -n system) || die "nodeenv failed"
    fi
    hash -r

    # npm ci only when the lock file changed (it wipes node_modules and reinstalls).
    local deps_stamp="$STAMPS/npm-deps" deps_want
    deps_want=$(hash_files package.json package-lock.json)
    if [ -d "$REPO/node_modules" ] && [ -f "$deps_stamp" ] && [ "$(cat "$deps_stamp")" = "$deps_want" ]; then
        say "node_modules up to date (npm ci skipped)"
    else
        if [ -f "$REPO/package-lock.json" ]; then
            say "npm ci"
            local npm_log="$STAMPS/npm-ci.log"
            if ! (cd "$REPO" && npm ci --no-audit --no-fund --loglevel=error) >"$npm_log" 2>&1; then
                grep -m 4 -E 'npm error (code|.npm ci. can only|Missing)' "$npm_log" >&2 || tail -n 5 "$npm_log" >&2
                # npm ci refuses a lock file that lacks entries for other platforms'
                # optional packages (e.g. @rollup/rollup-android-*), which happens when the
                # registry used to write it does not carry them. `npm install --no-save`
                # still installs exactly the locked versions and leaves the lock untouched.
                warn "npm ci refused package-lock.json; falling back to npm install --no-save"
                (cd "$REPO" && npm install --no-save --no-audit --no-fund --loglevel=error) || die "npm install failed"
            fi
        else
            warn "no package-lock.json: using npm install"
            (cd "$REPO" && npm install --no-audit --no-fund --loglevel=error) || die "npm install failed"
        fi
        echo "$deps_want" >"$deps_stamp"
    fi

    # Rebuild only when a source file changed (content hash, not mtimes: git checkouts
    # reset mtimes) or when the output is missing.
    local build_stamp="$STAMPS/npm-build" build_want
    build_want=$(frontend_hash)
    if [ -f "$REPO/webgate/static/index.html" ] && [ -f "$build_stamp" ] && [ "$(cat "$build_stamp")" = "$build_want" ]; then
        say "frontend build up to date (npm run build skipped)"
        return 0
    fi
    say "npm run build"
    (cd "$REPO" && npm run build) || die "frontend build failed"
    # The hash from before the build: a source edited while it ran is built next time.
    # (A file the build regenerates, like frontend/src/components.d.ts, costs one
    # extra build at most, then hashes the same.)
    echo "$build_want" >"$build_stamp"
}

# hash_files PATH... : one hash over the contents of the given files and of every file
# under the given directories (node_modules excluded); missing paths are ignored.
hash_files() {
    (
        cd "$REPO" || exit 1
        for p in "$@"; do
            [ -e "$p" ] || continue
            find "$p" -name node_modules -prune -o -type f -print
        done | LC_ALL=C sort | while IFS= read -r f; do printf '%s  ' "$f"; sha256sum <"$f"; done | sha256sum | cut -d' ' -f1
    )
}

# Everything the SPA build reads.
frontend_hash() {
    (cd "$REPO" && hash_files frontend package.json package-lock.json index.html vite.config.* tsconfig*.json)
}

# --- data dir -----------------------------------------------------------------------
# Same default as webgate's settings (./data, relative to where webgate runs: the repo).
DATA_DIR="${WEBGATE_DATA_DIR:-$REPO/data}"
