"""Break one protection at a time and check that the security suite notices.

A security test that still passes when the protection it guards is gone proves nothing.
This tool holds a list of *mutations* — one edit each that removes a real protection
(skip the org filter, drop the Origin check, stop redacting a secret, dial loopback, ...)
— with the test(s) that must then fail. For each mutation it:

1. makes a throwaway copy of the committed tree (``git worktree add --detach
   /tmp/wg-mut-<name> HEAD``), so the shared checkout is never touched;
2. applies the edit there, refusing to go on unless the original text occurs exactly once;
3. runs the named tests with the main venv's interpreter and ``PYTHONPATH`` pointing at the
   copy (it first checks that ``webgate`` really is imported from the copy);
4. counts the mutation *caught* only if a test failed on its own check (an ``assert`` or a
   ``pytest.raises``/``pytest.fail``), not on an import error, a fixture error or a skip;
5. removes the copy.

Usage::

    python scripts/security_mutations.py              # every mutation, then the table
    python scripts/security_mutations.py --list       # names, classes and tests
    python scripts/security_mutations.py auth-user-lock ssrf-loopback   # some by name

The exit code is 1 when any mutation survived (no test failed) and 2 on a setup error.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYTHON = Path("/work/main/.venv/bin/python")
PER_MUTATION_TIMEOUT = 600  # seconds; a hang counts as not caught


@dataclass(frozen=True)
class Mutation:
    """One deliberate break: where, what it removes, and which tests must then fail."""

    name: str
    klass: str
    path: str  # relative to the repository root
    original: str  # exact text; must occur exactly once in the file
    replacement: str
    why: str  # one line: the protection this removes
    tests: tuple[str, ...]  # pytest node ids expected to FAIL
    env: dict[str, str] = field(default_factory=dict)
    spa: bool = False  # the edit is in frontend/: the copy's SPA is built before the tests
    also: tuple[tuple[str, str], ...] = ()  # further (original, replacement) edits in the same file,
    # for a protection built as two fences: breaking one alone is rightly survived


MUTATIONS: tuple[Mutation, ...] = (
    Mutation(
        "auth-user-lock", "AUTH", "webgate/auth/login.py",
        'for key in (f"lock:user:{username.lower()}", f"lock:ip:{ip}"):',
        'for key in (f"lock:ip:{ip}",):',
        "a locked user can log in again from a fresh source address (only the IP lock is checked)",
        ("tests/security/test_authn.py::test_user_lockout_holds_across_source_addresses",)),
    Mutation(
        "authz-org-scope", "AUTHZ", "webgate/api/_base.py",
        "        return model.filter(org_id=self.org_id)\n",
        "        return model.all()\n",
        "Ctx.scoped() stops filtering by the caller's org: another org's ids resolve",
        ("tests/security/test_authz.py::test_other_orgs_objects_answer_404_and_stay_unchanged[assets]",)),
    Mutation(
        "authz-access-epoch", "AUTHZ", "webgate/api/_base.py",
        "moves_epoch = not keeps_access and any(m in UNSAFE for m in methods)",
        "moves_epoch = False",
        "an admin's change through the API no longer moves the access epoch: running sessions keep access "
        "that was withdrawn until the 5-minute full re-check",
        ("tests/integration/test_ssh_terminal.py::test_revoked_access_ends_open_session[permission]",
         "tests/integration/test_ssh_terminal.py::test_a_recheck_with_nothing_changed_skips_the_permission_queries")),
    Mutation(
        "authz-access-ends", "AUTHZ", "webgate/sessions/lifecycle.py",
        "token.expires_at if token else None, grant.until]",
        "token.expires_at if token else None]",
        "a permission's end date no longer limits how long a passed re-check is trusted",
        ("tests/integration/test_ssh_terminal.py::test_revoked_access_ends_open_session[permission_ends]",)),
    Mutation(
        "authz-access-org", "AUTHZ", "webgate/policy/access.py",
        "live = AssetPermission.filter(org_id=org_id, is_active=True)",
        "live = AssetPermission.filter(is_active=True)",
        "the access resolver takes permissions (and assets) from every org, not the current one",
        ("tests/security/test_authz.py::"
         "test_a_member_of_two_orgs_is_granted_in_each_org_only_what_that_org_grants",),
        also=((", org_id__iexact=str(self.org_id))", ")"),)),
    Mutation(
        "csrf-origin", "CSRF", "webgate/api/_base.py",
        "        if not _origin_ok(request, services):\n",
        "        if False:\n",
        "a cookie request from a foreign Origin passes (with a stolen/guessed CSRF token)",
        ("tests/security/test_csrf.py::test_a_foreign_origin_is_refused_even_with_the_token",)),
    Mutation(
        "web-frame-ancestors", "WEB", "webgate/middleware.py",
        "frame-ancestors 'none';",
        "frame-ancestors *;",
        "the CSP lets any site frame webgate (clickjacking)",
        ("tests/security/test_headers.py::test_csp_and_browser_hardening_headers",)),
    Mutation(
        "ws-origin", "WS", "webgate/ws/_common.py",
        '        return not origin_allowed(origin, websocket.headers.get("host", ""), services)\n',
        "        return False\n",
        "terminal WebSockets accept a foreign Origin (cross-site WebSocket hijacking)",
        ("tests/integration/test_terminal_bad_input.py::test_foreign_origin_is_refused_before_upgrade",)),
    Mutation(
        "ws-frame-limit", "WS", "webgate/ws/terminal.py",
        "        if len(data) > MAX_BINARY:\n",
        "        if False:\n",
        "a terminal input frame of any size is passed to the target (no 1 MiB bound)",
        ("tests/integration/test_terminal_bad_input.py::test_oversized_frame_closes_with_error_and_finalises_row",)),
    Mutation(
        "guac-upload-optab", "GUAC", "webgate/protocols/guacamole/filters.py",
        '            if "upload" in acts:\n',
        "            if True:\n",
        "file/put/blob/end pass the opcode allow-list without the upload permission",
        ("tests/security/test_guac.py::test_attack_is_refused_audited_and_closed[an unknown opcode]",)),
    Mutation(
        "k8s-name-match", "K8S", "webgate/protocols/k8s_config.py",
        "not pattern.fullmatch(value)",
        "not pattern.match(value)",
        "a Kubernetes name with a trailing newline passes the name check ('$' matches before '\\n')",
        ("tests/security/test_k8s.py::test_hostile_names_are_refused_before_any_request",)),
    Mutation(
        "cred-redact", "CRED", "webgate/audit/emitter.py",
        '            out[key] = "(changed)"\n',
        "            out[key] = value\n",
        "the operation log stores secret fields (passwords, keys, tokens) as sent",
        ("tests/security/test_cred.py::test_secrets_never_leave_the_gateway",)),
    Mutation(
        "ssrf-loopback", "SSRF", "webgate/policy/targets.py",
        "        if candidate.is_loopback:\n",
        "        if False:\n",
        "the target address policy lets assets on loopback be dialled",
        ("tests/security/test_ssrf.py::test_loopback_in_any_spelling_is_refused_before_dialling[127.0.0.1]",)),
    Mutation(
        "dos-body-limit", "DOS", "webgate/api/_base.py",
        "MAX_JSON = 1 << 20\n",
        "MAX_JSON = 1 << 23\n",
        "JSON bodies up to 8 MiB are buffered instead of 1 MiB",
        ("tests/security/test_limits.py::test_a_declared_huge_body_is_refused_unread",)),
    Mutation(
        "fuzz-telnet-subneg", "FUZZ", "webgate/protocols/telnet_options.py",
        "        if len(self._sb) + len(data) > self.max_subneg:\n",
        "        if False:\n",
        "the Telnet option parser buffers a subnegotiation without bound",
        ("tests/fuzz/test_fuzz.py::test_fuzz_target[telnet]",),
        env={"WEBGATE_FUZZ_SECONDS": "5"}),
    Mutation(
        "xss-asset-name", "XSS", "frontend/src/views/admin/AssetsView.vue",
        "        <span>{{ row.name }}</span>\n",
        '        <span v-html="row.name" />\n',
        "the assets page renders an asset's name as HTML (stored XSS; the CSP still blocks inline handlers)",
        ("tests/e2e/test_xss.py::test_stored_xss_payloads_stay_text_on_every_page",), spa=True),
)


@dataclass
class Outcome:
    """What happened to one mutation."""

    mutation: Mutation
    line: int = 0
    caught: bool = False
    caught_by: str = ""
    detail: str = ""
    seconds: float = 0.0


class SetupError(RuntimeError):
    """The mutation could not be applied or run: a broken tool, not a surviving mutant."""


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(REPO), *args], check=True, capture_output=True,  # noqa: S603, S607
                          text=True).stdout


def apply(mutation: Mutation, root: Path) -> int:
    """Edit the file under ``root``; returns the 1-based line of the edit."""
    target = root / mutation.path
    text = target.read_text()
    line = 0
    for original, replacement in ((mutation.original, mutation.replacement), *mutation.also):
        count = text.count(original)
        if count != 1:
            raise SetupError(f"{mutation.name}: {original.strip()!r} occurs {count} times in {mutation.path}, "
                             "not once")
        line = line or text.count("\n", 0, text.index(original)) + 1
        text = text.replace(original, replacement)
    target.write_text(text)
    return line


def build_spa(root: Path) -> None:
    """Build the copy's SPA into its webgate/static with the main checkout's node_modules
    (vite only: the type check is not what is being tested)."""
    (root / "node_modules").symlink_to(REPO / "node_modules")
    env = {**os.environ, "PATH": f"{PYTHON.parent}:{os.environ.get('PATH', '')}"}
    proc = subprocess.run([str(root / "node_modules" / ".bin" / "vite"), "build"],  # noqa: S603
                          cwd=root, env=env, capture_output=True, text=True, timeout=300, check=False)
    if proc.returncode != 0 or not (root / "webgate" / "static" / "index.html").exists():
        raise SetupError(f"vite build failed in {root}: {(proc.stdout + proc.stderr)[-800:]}")


def _env(root: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(root), **extra}
    env.pop("WEBGATE_REQUIRE_PEERS", None)  # a missing peer must show as a skip, never as "caught"
    env.pop("CI", None)
    return env


def check_import(root: Path, env: dict[str, str]) -> str:
    """The ``webgate`` the tests will import: must be the copy's, never /work/main's."""
    out = subprocess.run([str(PYTHON), "-c", "import webgate; print(webgate.__file__)"],  # noqa: S603
                         cwd=root, env=env, check=True, capture_output=True, text=True).stdout.strip()
    if not Path(out).resolve().is_relative_to(root.resolve()):
        raise SetupError(f"webgate is imported from {out}, not from the worktree {root}")
    return out


def judge(junit: Path, returncode: int, output: str) -> tuple[bool, str, str]:
    """(caught, which test, detail) from pytest's JUnit report.

    Caught means: a test *failed* on its own check. Errors (fixtures, imports, collection)
    and skips are not catches: they say nothing about the protection."""
    if not junit.exists():
        return False, "", f"no report (pytest exit {returncode}): {output.strip().splitlines()[-1:]}"
    errors, failures, skipped = [], [], []
    for case in ET.parse(junit).getroot().iter("testcase"):  # noqa: S314 - pytest's own report
        node = f"{case.get('classname', '')}::{case.get('name', '')}"
        for child in case:
            message = (child.get("message") or "").strip().splitlines()[0:1]
            first = message[0] if message else ""
            if child.tag == "error":
                errors.append(f"{node}: {first}")
            elif child.tag == "failure":
                failures.append((case.get("name", ""), first))
            elif child.tag == "skipped":
                skipped.append(f"{node}: {first}")
    if errors:
        return False, "", f"error, not a failing check: {errors[0][:200]}"
    own = [(name, msg) for name, msg in failures
           if msg.startswith(("AssertionError", "assert", "Failed:")) and "test peer missing" not in msg]
    if own:
        name, msg = own[0]
        return True, name, msg[:160]
    if failures:
        return False, "", f"failed, but not on a check of the test: {failures[0][1][:200]}"
    if skipped:
        return False, "", f"skipped: {skipped[0][:200]}"
    return False, "", "every test passed: the mutation SURVIVED"


def run(mutation: Mutation, *, keep: bool = False) -> Outcome:
    """Apply one mutation in a fresh worktree, run its tests, judge, clean up."""
    outcome = Outcome(mutation)
    root = Path(f"/tmp/wg-mut-{mutation.name}")  # noqa: S108 - a git worktree, removed after the run
    if root.exists():
        _git("worktree", "remove", "--force", str(root))
    _git("worktree", "add", "--detach", str(root), "HEAD")
    started = time.monotonic()
    report_dir = Path(tempfile.mkdtemp(prefix=f"wg-mut-{mutation.name}-"))
    try:
        outcome.line = apply(mutation, root)
        if mutation.spa:
            build_spa(root)
        env = _env(root, mutation.env)
        imported = check_import(root, env)
        print(f"[{mutation.name}] webgate from {imported}; broke {mutation.path}:{outcome.line}; "
              f"running {len(mutation.tests)} test(s)", flush=True)
        junit = report_dir / "junit.xml"
        try:
            proc = subprocess.run(  # noqa: S603 - our own interpreter and test ids
                [str(PYTHON), "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "-m", "",
                 f"--junitxml={junit}", *mutation.tests],
                cwd=root, env=env, capture_output=True, text=True, timeout=PER_MUTATION_TIMEOUT, check=False)
            outcome.caught, outcome.caught_by, outcome.detail = judge(junit, proc.returncode,
                                                                      proc.stdout + proc.stderr)
        except subprocess.TimeoutExpired:
            outcome.detail = f"timed out after {PER_MUTATION_TIMEOUT}s"
    finally:
        outcome.seconds = time.monotonic() - started
        shutil.rmtree(report_dir, ignore_errors=True)
        if not keep:
            _git("worktree", "remove", "--force", str(root))
    return outcome


def baseline(mutations: list[Mutation]) -> str | None:
    """Run every named test on the unbroken tree first: a test that already fails would
    "catch" any mutation. Returns a problem, or None when they all pass."""
    root = Path("/tmp/wg-mut-baseline")  # noqa: S108 - a git worktree, removed after the run
    if root.exists():
        _git("worktree", "remove", "--force", str(root))
    _git("worktree", "add", "--detach", str(root), "HEAD")
    tests = list(dict.fromkeys(t for m in mutations for t in m.tests))
    env = _env(root, {k: v for m in mutations for k, v in m.env.items()})
    try:
        if any(m.spa for m in mutations):
            build_spa(root)
        check_import(root, env)
        proc = subprocess.run(  # noqa: S603 - our own interpreter and test ids
            [str(PYTHON), "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "", "-rfEs", *tests],
            cwd=root, env=env, capture_output=True, text=True, timeout=PER_MUTATION_TIMEOUT, check=False)
    finally:
        _git("worktree", "remove", "--force", str(root))
    summary = proc.stdout.strip().splitlines()[-1:] or ["(no output)"]
    print(f"[baseline] {len(tests)} test(s) on the unbroken tree: {summary[0]}", flush=True)
    if proc.returncode != 0 or " skipped" in summary[0]:
        return "\n".join(proc.stdout.splitlines()[-20:])
    return None


def table(outcomes: list[Outcome]) -> str:
    """The results as a Markdown table (pasted into tests/security/README.md)."""
    rows = ["| class | file:line broken | what the break does | test that caught it | caught? |",
            "|---|---|---|---|---|"]
    for o in outcomes:
        m = o.mutation
        test = m.tests[0].split("::", 1)[0].rsplit("/", 1)[-1] + "::" + (o.caught_by or m.tests[0].split("::")[-1])
        verdict = "yes" if o.caught else f"**NO** ({o.detail})"
        rows.append(f"| {m.klass} | `{m.path}:{o.line}` | {m.why} | `{test}` | {verdict} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help="run only these mutations (default: all)")
    parser.add_argument("--list", action="store_true", help="list the mutations and exit")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip the first run of the tests on the unbroken tree")
    parser.add_argument("--keep", action="store_true", help="keep the worktrees for inspection")
    args = parser.parse_args(argv)
    by_name = {m.name: m for m in MUTATIONS}
    if args.list:
        for m in MUTATIONS:
            print(f"{m.name:22} {m.klass:6} {m.path}: {m.why}\n{'':29}expects to fail: {', '.join(m.tests)}")
        return 0
    unknown = [n for n in args.names if n not in by_name]
    if unknown:
        parser.error(f"unknown mutation(s): {', '.join(unknown)}; see --list")
    chosen = [by_name[n] for n in args.names] if args.names else list(MUTATIONS)
    outcomes: list[Outcome] = []
    try:
        problem = None if args.no_baseline else baseline(chosen)
        if problem:
            print(f"the tests do not pass on the unbroken tree; fix that first:\n{problem}", file=sys.stderr)
            return 2
        for mutation in chosen:
            outcome = run(mutation, keep=args.keep)
            print(f"[{mutation.name}] {'caught' if outcome.caught else 'NOT caught'} in {outcome.seconds:.0f}s"
                  f"{'' if outcome.caught else ': ' + outcome.detail}", flush=True)
            outcomes.append(outcome)
    except (SetupError, subprocess.CalledProcessError) as exc:
        print(f"setup error: {exc}", file=sys.stderr)
        return 2
    print()
    print(table(outcomes))
    survivors = [o.mutation.name for o in outcomes if not o.caught]
    if survivors:
        print(f"\n{len(survivors)} mutation(s) survived: {', '.join(survivors)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
