#!/usr/bin/env bash
# Install and start webgate on this machine (Debian/Ubuntu, as root or with sudo).
#
#   bash scripts/setup.sh              install everything, then run webgate in the foreground
#   bash scripts/setup.sh --no-start   install only (packages, .venv, UI, database, admin)
#   bash scripts/setup.sh --no-guacd   neither install nor start guacd (remote desktops off)
#
# Safe to run again: every step checks first and does nothing when already done.
# The admin's one-time password is printed only the first time (when admin is created).
set -euo pipefail

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; }
START=1 GUACD=1
for arg in "$@"; do
    case "$arg" in
        --no-start) START=0 ;;
        --no-guacd) GUACD=0 ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; echo "unknown option: $arg" >&2; exit 2 ;;
    esac
done

# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$REPO"

install_base_packages
if [ "$GUACD" = 1 ]; then install_guacd; fi
ensure_venv
pip_install_project ""
build_frontend

say "webgate migrate"
webgate migrate

# create-admin prints a one-time password when it creates the account, and says
# "admin already exists" on later runs; neither is an error for setup.
say "webgate create-admin --username admin"
if ! out=$(webgate create-admin --username admin 2>&1); then
    case "$out" in *"already exists"*) ;; *) printf '%s\n' "$out" >&2; die "create-admin failed";; esac
fi
printf '%s\n' "$out"

if [ "$GUACD" = 1 ]; then start_guacd; fi

host="${WEBGATE_HOST:-127.0.0.1}" port="${WEBGATE_PORT:-8080}"
url="${WEBGATE_PUBLIC_URL:-http://$host:$port}"
if [ "$START" = 0 ]; then
    say "installed. Start with:  .venv/bin/webgate serve    (then open $url)"
    exit 0
fi
say "webgate is starting at $url  (log in as admin; Ctrl-C stops it)"
exec webgate serve --host "$host" --port "$port"
