"""Chromium in kiosk app mode on an app-host display, with the web login filled in by the host.

The login is injected through the DevTools protocol over ``--remote-debugging-pipe``
(file descriptors 3 and 4 of the browser), not a TCP port: a debugging port on loopback
would let any local user drive the browser. The password travels only over that pipe;
it is never on the command line (``ps``), in the URL or in the profile (the password
manager is off). It is typed only into a page whose origin is the asset's own origin, so
a redirect to another site never receives it.

``--host-resolver-rules`` pins the site's host name to the address the gateway's target
policy checked, so a DNS answer that changes after the check (rebinding) is not followed.

Limits, said plainly: a person in the browser window could open the site's own pages
only (kiosk, no address bar), but Chromium's developer tools are not disabled by a flag;
an admin who needs that sets the ``DeveloperToolsAvailability`` policy for the app host.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import fcntl
import json
import logging
import os
import signal
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from webgate.remoteapp.host import AppSpec

log = logging.getLogger("webgate.remoteapp")

PR_SET_PDEATHSIG = 1
# RFC 6761: ``.invalid`` never resolves, so a request sent to this proxy fails at once.
NO_EGRESS = "http://webgate-no-egress.invalid:9"
GUARD_EVERY = 0.5
AUTOFILL_WITHIN = 30.0
CALL_TIMEOUT = 10.0
_MAX_MESSAGE = 16 << 20

# Fills the form like a person would (the native value setter, then input/change events,
# so frameworks that track input see it), on the expected origin only; returns what it did.
_FILL = """(function (origin, sel, user, pass) {
  if (location.origin !== origin) return "wrong-origin";
  const u = sel.username ? document.querySelector(sel.username) : null;
  const p = sel.password ? document.querySelector(sel.password) : null;
  if ((sel.username && !u) || (sel.password && !p)) return "waiting";
  const set = (el, v) => {
    const proto = Object.getPrototypeOf(el);
    const desc = Object.getOwnPropertyDescriptor(proto, "value");
    if (desc && desc.set) desc.set.call(el, v); else el.value = v;
    el.dispatchEvent(new Event("input", {bubbles: true}));
    el.dispatchEvent(new Event("change", {bubbles: true}));
  };
  if (u) set(u, user);
  if (p) set(p, pass);
  const s = sel.submit ? document.querySelector(sel.submit) : null;
  if (s) { s.click(); return "submitted"; }
  const form = (p || u) && (p || u).form;
  if (form) { form.requestSubmit ? form.requestSubmit() : form.submit(); return "submitted"; }
  return "filled";
})"""


def die_with_parent() -> None:
    """In a child, before exec: SIGKILL when the gateway (or agent) process dies, so a crash
    leaves no display or program running. Linux only; elsewhere a no-op."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def log_file(path: Path) -> BinaryIO:
    """A child's stderr, kept in its display's temp dir (removed with it)."""
    return open(path, "wb")  # noqa: SIM115 - handed to the child process


def chromium_args(spec: AppSpec, work: Path) -> list[str]:
    """Chromium's own switches for a kiosk app window filling the display."""
    args = ["--disable-gpu", "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--disable-extensions",
            "--disable-translate", "--password-store=basic", "--disable-features=Translate,MediaRouter",
            f"--user-data-dir={work / 'profile'}", "--remote-debugging-pipe",
            "--kiosk", f"--app={spec.values.get('url', '')}", "--window-position=0,0",
            f"--window-size={spec.width},{spec.height}"]
    if os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
    if spec.pin:
        rules = ", ".join(f"MAP {host} {ip}" for host, ip in sorted(spec.pin.items()))
        args.append(f"--host-resolver-rules={rules}")
    endpoint = _endpoint(spec.values.get("url", ""))
    if endpoint:  # every other destination, loopback included, goes to a proxy that cannot exist
        args += [f"--proxy-server={NO_EGRESS}", f"--proxy-bypass-list=<-loopback>;{endpoint}"]
    return args


def _endpoint(url: str) -> str:
    """``host:port`` of the site, as Chromium's proxy bypass rules write it."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return ""
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{host}:{parts.port or (443 if parts.scheme == 'https' else 80)}"


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _profile(work: Path) -> None:
    """Preferences that keep the password out of the profile and the screen quiet."""
    default = work / "profile" / "Default"
    default.mkdir(parents=True, mode=0o700)
    prefs = {"credentials_enable_service": False, "profile": {"password_manager_enabled": False},
             "autofill": {"profile_enabled": False, "credit_card_enabled": False},
             "translate": {"enabled": False}}
    (default / "Preferences").write_text(json.dumps(prefs))


class Browser:
    def __init__(self, program: str, work: Path, spec: AppSpec) -> None:
        self.program = program
        self.work = work
        self.spec = spec
        self.proc: asyncio.subprocess.Process | None = None
        self._to: asyncio.StreamWriter | None = None
        self._from: asyncio.StreamReader | None = None
        self._next = 0
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._reader: asyncio.Task[None] | None = None
        self.result = ""  # what the autofill did: submitted | filled | "" (not yet, or no autofill)

    async def start(self, argv: list[str], env: dict[str, str]) -> asyncio.subprocess.Process:
        _profile(self.work)
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()

        def _pipes() -> None:  # in the child: the pipe ends become fds 3 (commands) and 4 (answers)
            high_r, high_w = fcntl.fcntl(to_child_r, fcntl.F_DUPFD, 10), fcntl.fcntl(from_child_w, fcntl.F_DUPFD, 10)
            os.dup2(high_r, 3)
            os.dup2(high_w, 4)
            die_with_parent()

        try:
            self.proc = await asyncio.create_subprocess_exec(
                self.program, *chromium_args(self.spec, self.work), *argv,
                stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
                stderr=log_file(self.work / "browser.log"), start_new_session=True, env=env,
                pass_fds=(3, 4), preexec_fn=_pipes)  # noqa: PLW1509
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=_MAX_MESSAGE)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(from_child_r, "rb", 0))
        transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin,
                                                            os.fdopen(to_child_w, "wb", 0))
        self._to = asyncio.StreamWriter(transport, protocol, None, loop)
        self._from = reader
        self._reader = asyncio.create_task(self._read())
        return self.proc

    async def _read(self) -> None:
        assert self._from is not None
        with contextlib.suppress(asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            while True:
                raw = await self._from.readuntil(b"\0")
                try:
                    message = json.loads(raw[:-1])
                except ValueError:
                    continue
                future = self._waiting.pop(message.get("id", -1), None)
                if future is not None and not future.done():
                    future.set_result(message)
        for future in self._waiting.values():
            if not future.done():
                future.set_exception(ConnectionError("the browser closed its DevTools pipe"))

    async def call(self, method: str, params: dict[str, Any] | None = None,
                   session: str | None = None) -> dict[str, Any]:
        assert self._to is not None
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[self._next] = future
        self._to.write(json.dumps(message).encode() + b"\0")
        await self._to.drain()
        async with asyncio.timeout(CALL_TIMEOUT):
            answer = await future
        if "error" in answer:
            raise ConnectionError(str(answer["error"].get("message", "DevTools error"))[:200])
        return dict(answer.get("result", {}))

    async def autofill(self) -> None:
        """Fill and submit the login form once the asset's page shows it; gives up after 30 s."""
        spec = self.spec
        if not spec.autofill or spec.password is None:
            return
        args = [origin_of(spec.values.get("url", "")), spec.autofill, spec.username, spec.password]
        expression = f"{_FILL}({', '.join(json.dumps(a) for a in args)})"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + AUTOFILL_WITHIN
        try:
            session = await self._page_session(deadline)
            while loop.time() < deadline:
                result = await self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                                         session=session)
                value = str(result.get("result", {}).get("value", ""))
                if value in ("submitted", "filled"):
                    self.result = value
                    log.info("remoteapp %s: login form %s", self.work.name, value)
                    return
                await asyncio.sleep(0.3)
            log.warning("remoteapp %s: the login form did not appear within %ss", self.work.name, AUTOFILL_WITHIN)
        except (ConnectionError, TimeoutError, OSError) as exc:
            log.warning("remoteapp %s: autofill stopped: %s", self.work.name, str(exc)[:200])
        finally:
            del expression, args

    async def guard(self) -> None:
        """Bring any page that left the site (``file://``, ``chrome://``, a blocked site's error page)
        back to the site. The network is already confined by the proxy switches; this closes the
        ways that need no network, within ``GUARD_EVERY`` seconds."""
        url = self.spec.values.get("url", "")
        origin = origin_of(url)
        with contextlib.suppress(ConnectionError, TimeoutError, OSError):
            while True:
                await asyncio.sleep(GUARD_EVERY)
                for target in (await self.call("Target.getTargets")).get("targetInfos", []):
                    where = str(target.get("url", ""))
                    if target.get("type") != "page" or where in ("", "about:blank") or origin_of(where) == origin:
                        continue
                    log.warning("remoteapp %s: a page left the site (%s); sent back", self.work.name,
                                where.split(":", 1)[0])
                    attached = await self.call("Target.attachToTarget", {"targetId": target["targetId"],
                                                                         "flatten": True})
                    await self.call("Page.navigate", {"url": url}, session=str(attached["sessionId"]))

    async def _page_session(self, deadline: float) -> str:
        loop = asyncio.get_running_loop()
        while loop.time() < deadline:
            targets = (await self.call("Target.getTargets")).get("targetInfos", [])
            page = next((t for t in targets if t.get("type") == "page"), None)
            if page is not None:
                attached = await self.call("Target.attachToTarget", {"targetId": page["targetId"], "flatten": True})
                return str(attached["sessionId"])
            await asyncio.sleep(0.2)
        raise TimeoutError("no page appeared")

    async def close(self) -> None:
        if self._to is not None:
            with contextlib.suppress(Exception):
                self._to.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(BaseException):
                await self._reader
