"""LiveSession: the one choke point every interactive terminal session goes through.

Order, always: authorise → (credentials) → session row → audit → register →
address policy (``policy.targets``: the checked IP is what gets dialled) → dial →
attach taps and the gate → run → finish. ``finish`` runs exactly once on every kind
of end (target exit, client close, error, idle timeout, max duration, kill) and
finalises the row with the end reason, byte counts and the recording's key and hash.

The account's secret is decrypted here and only here, handed to the connector inside
a ``Target`` and dropped; the typed credentials of an @INPUT account are never stored
or logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import uuid
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from webgate.auth.principal import Principal
from webgate.db.models import ApiToken, OperationLog, Session, User, WebSession
from webgate.errors import WebgateError
from webgate.policy.epoch import FULL_EVERY, epoch_reader
from webgate.policy.targets import pin_target
from webgate.protocols import terminal_connector
from webgate.recording.asciicast import AsciicastRecorder, NullRecorder, Recorder
from webgate.services import Services
from webgate.sessions.endings import Ending, ending_for
from webgate.sessions.grant import Grant, resolve_grant, reveal
from webgate.sessions.heartbeat import heartbeat
from webgate.sessions.hostkeys import RESERVED as HOST_KEY_FIELDS
from webgate.sessions.hostkeys import note_presented_key, record_host_key, recorded_host_key
from webgate.sessions.recovery import terminal_spool_dir
from webgate.sessions.registry import live_sessions
from webgate.terminal.channel import Channel, ConnectFailed, Target
from webgate.terminal.gate import InputGate
from webgate.terminal.pump import ClientGone, pump_output
from webgate.terminal.taps import Meter, TapFailed, Taps

log = logging.getLogger("webgate.sessions")


@dataclass(frozen=True)
class OpenRequest:
    asset_id: str
    protocol: str
    account: str
    cols: int
    rows: int
    client_ip: str = ""
    user_agent: str = ""
    # Protocol-specific choices made in the browser (k8s: namespace, pod, container), already checked.
    options: dict[str, str] = field(default_factory=dict)


def _connector_options(grant: Grant, req: OpenRequest) -> dict[str, object]:
    """The asset's connection settings, overridden by the browser's checked choices."""
    options: dict[str, object] = {k: v for k, v in (grant.asset.extra or {}).items() if k not in HOST_KEY_FIELDS}
    options.update(req.options)
    if grant.account is not None:
        options["secret_type"] = grant.account.secret_type
    return options


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)


# Asked of the browser for @INPUT accounts; receives the fixed username ("" = ask for it too).
AskCredentials = Callable[[str], Awaitable[Credentials]]


async def _audit(services: Services, row: Session, action: str, changes: dict[str, Any]) -> None:
    from webgate.audit.emitter import redact

    await OperationLog.create(
        org_id=row.org_id, actor=row.username, actor_id=row.user_id, action=action, resource_type="session",
        resource_id=str(row.id), resource_name=row.asset_name, changes=redact(changes), ip=row.client_ip,
        created_at=services.clock.now())
    log.info(json.dumps({"event": f"session.{action}", "session": str(row.id), "user": row.username,
                         "asset": row.asset_name, **{k: v for k, v in changes.items() if k != "watermark"}}))


async def _mark_live(row_id: uuid.UUID) -> None:
    # Conditional: a session that already ended stays "ended".
    await Session.filter(id=row_id, status="starting").update(status="live")


def _watermark(policy: dict[str, Any], row: Session, when: str) -> dict[str, Any]:
    settings = policy.get("watermark", {})
    content = str(settings.get("content", ""))
    try:
        text = content.format(username=row.username, asset=row.asset_name, time=when, account=row.account_username)
    except (KeyError, IndexError, ValueError):
        text = content
    return {"enabled": bool(settings.get("enabled")), "content": content, "text": text}


async def _create_row(services: Services, principal: Principal, grant: Grant, req: OpenRequest, username: str,
                      policy: dict[str, Any], now: datetime, *, playback: dict[str, Any]) -> Session:
    """The session row, terminal or desktop, with its watermark: one INSERT (every write here delays the prompt)."""
    row = Session(
        org_id=grant.asset.org_id, user_id=principal.user.id, username=principal.user.username,
        asset_id=grant.asset.id, asset_name=grant.asset.name, account_username=username[:128],
        protocol=req.protocol, client_ip=req.client_ip[:64], user_agent=req.user_agent[:512],
        node_name=services.settings.node_name, status="starting", started_at=now, playback=playback)
    row.watermark = _watermark(policy, row, now.strftime("%Y-%m-%d %H:%M"))
    await row.save(force_create=True)
    return row


async def _authorize(services: Services, principal: Principal, req: OpenRequest, now: datetime) -> Grant:
    """THE authorisation call for terminal sessions: at open and on every re-check."""
    if req.protocol == "remoteapp":  # judged as the applet's protocol (https, mysql…) on the asset it opens
        from webgate.remoteapp.applets import authorize_applet

        return await authorize_applet(services, principal, req.asset_id, req.account, req.options, now)
    return await resolve_grant(services.clock, principal, req.asset_id, req.account, req.protocol, now)


def _duration_words(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g} hour(s)"
    return f"{seconds / 60:g} minute(s)"


def _limit(policy_seconds: float, permission_value: int | None, unit: float) -> float:
    """The stricter of two limits, where 0 means "no limit"."""
    if not permission_value:
        return policy_seconds
    own = permission_value * unit
    return min(policy_seconds, own) if policy_seconds else own


@dataclass(frozen=True, slots=True)
class _Passed:
    """A full access check that passed, and what it holds for."""

    epoch: int  # the access epoch read before it
    until: datetime | None  # when the first time limit it read ends (policy clock)
    at: float  # when it ran (loop time: real elapsed time, not the policy clock)

    def holds(self, epoch: int, now: datetime, full_every: float) -> bool:
        """Nothing it relied on can have changed: same epoch, no limit due, not older than ``full_every``."""
        return (epoch == self.epoch and (self.until is None or now < self.until)
                and asyncio.get_running_loop().time() - self.at < full_every)


class LiveSession:
    TICK = 1.0  # seconds between idle/max-duration checks and recording flushes
    RECHECK = 15.0  # seconds between re-checks of the login and the permission (revocation)
    FULL_RECHECK = FULL_EVERY  # a re-check runs in full at least this often, even if the access epoch stood still

    def __init__(self, services: Services, row: Session, grant: Grant, policy: dict[str, Any]) -> None:
        self.services = services
        self.row = row
        self.grant = grant
        self.id: uuid.UUID = row.id
        terminal = policy.get("terminal", {})
        # The org's terminal policy, tightened by the permission's own limits (never loosened).
        self.idle_seconds = _limit(float(terminal.get("idle_minutes") or 0) * 60, grant.idle_minutes, 60)
        self.max_seconds = _limit(float(terminal.get("max_hours") or 0) * 3600, grant.max_minutes, 60)
        self.record_input = bool(terminal.get("record_input"))
        self.channel: Channel | None = None
        self.recorder: Recorder = NullRecorder()
        self.meter = Meter(services.clock.monotonic)
        self.taps = Taps([self.meter])
        self.gate = InputGate(grant.actions)
        self.attached = False
        self.ending: Ending | None = None
        self._started = services.clock.monotonic()
        # Why the session must end, once something outside the pump decided it (a stop, a limit, a
        # re-check); None = ``finish`` ran first. A future, made when first needed: no waiting task.
        self._decided: asyncio.Future[Ending | None] | None = None
        self._next_recheck = 0.0
        self._recheck: asyncio.Task[None] | None = None
        self._checked: _Passed | None = None  # the last full check that passed
        self._finish_lock = asyncio.Lock()
        self.principal: Principal | None = None
        self.request: OpenRequest | None = None
        self._went_live: asyncio.Task[None] | None = None

    # -- opening ------------------------------------------------------------------------

    @classmethod
    async def open(cls, services: Services, principal: Principal, req: OpenRequest,
                   ask: AskCredentials) -> LiveSession:
        now = services.clock.now()
        # The org's settings (the person's own org: nothing about the asset) are read alongside the
        # authorisation, which they do not influence: two queries fewer in a row before the dial.
        early = asyncio.create_task(services.policy(principal.org_id)) if principal.org_id is not None else None
        try:
            # The one authorisation call: nothing of the asset is read, decrypted or dialled before it.
            grant = await _authorize(services, principal, req, now)
        except BaseException:
            if early is not None:
                early.cancel()
            raise
        connector = terminal_connector(req.protocol)
        if early is not None and grant.asset.org_id == principal.org_id:
            policy = await early
        else:  # a superadmin's global view: the asset's own org decides
            if early is not None:
                early.cancel()
            policy = await services.policy(grant.asset.org_id)
        password = private_key = passphrase = None
        username = grant.username
        if grant.account is None:
            typed = await ask(username)
            username, password = username or typed.username, typed.password
        elif grant.account.secret_type == "ssh_key":  # noqa: S105 - a type name, not a secret
            private_key, passphrase = reveal(services, grant.account)
        else:
            password, _ = reveal(services, grant.account)
        row = await _create_row(services, principal, grant, req, username, policy, now,
                                playback={"format": "asciicast-v2", "cols": req.cols, "rows": req.rows})
        session = cls(services, row, grant, policy)
        session._opened_by(principal, req)
        live_sessions(services).add(session)
        # The audit row is written while the target is dialled (the dial waits on the network, not on us);
        # it is awaited on every path below, before anything else happens to the session.
        audited = asyncio.create_task(
            _audit(services, row, "connect", {"protocol": req.protocol, "account": username}))
        target = Target(host=grant.asset.address, port=grant.port, username=username, password=password,
                        private_key=private_key, passphrase=passphrase, cols=req.cols, rows=req.rows,
                        known_host_key=recorded_host_key(grant.asset), asset_name=grant.asset.name,
                        options=_connector_options(grant, req))
        del password, private_key, passphrase
        try:
            try:
                # The address policy, once for every protocol: nothing is dialled before it passes.
                target = await pin_target(services.settings, req.protocol, target)
                session.channel = await connector(target)
            finally:
                await asyncio.shield(audited)  # written even when the browser left during the dial
        except ConnectFailed as exc:
            if exc.code == "host_key_changed" and getattr(exc, "presented_key", None):
                await note_presented_key(grant.asset, exc.presented_key, services.clock.now())
            await session.finish(Ending(exc.code, exc.message))
            raise
        except asyncio.CancelledError:  # the browser left while we were dialling
            await session.finish(ending_for("client_closed"))
            raise
        except BaseException:
            await session.finish(ending_for("error"))
            raise
        finally:
            del target
        if session.channel.host_key and recorded_host_key(grant.asset) is None:
            await record_host_key(grant.asset, session.channel.host_key, services.clock.now())
        await session._start_recording(policy, req)
        # The account row (with its encrypted secret) is not needed once dialled, and a session can live
        # for hours: drop it (re-checks resolve a fresh grant). ``username`` keeps the login name.
        session.grant = replace(grant, account=None)
        session.row.status = "live"
        # Not awaited here: the prompt need not wait for this write; ``finish`` waits for it.
        session._went_live = asyncio.create_task(_mark_live(row.id))
        session._went_live.add_done_callback(session._marked_live)
        return session

    def _marked_live(self, task: asyncio.Task[None]) -> None:
        self._went_live = None  # a finished task keeps its coroutine: not worth keeping per idle session
        if not task.cancelled() and task.exception() is not None:
            log.error("session %s: could not be marked live", self.id, exc_info=task.exception())

    def _attach_recorder(self, recorder: Recorder) -> None:
        """Recording is audit evidence: the recorder is a mandatory tap, so a failing one ends the session."""
        self.recorder = recorder
        self.taps = Taps([self.meter, recorder])

    async def _start_recording(self, policy: dict[str, Any], req: OpenRequest) -> None:
        settings = self.services.settings
        self._attach_recorder(AsciicastRecorder(
            session_id=self.id, spool_dir=terminal_spool_dir(settings), storage=self.services.storage,
            cols=req.cols, rows=req.rows, started_at=self.services.clock.time(),
            monotonic=self.services.clock.monotonic, record_input=self.record_input,
            title=f"{self.row.username}@{self.row.asset_name}"))

    # -- running ------------------------------------------------------------------------

    async def input(self, data: bytes) -> None:
        """User keystrokes: through the gate, seen by the taps, then to the target."""
        assert self.channel is not None
        data = await self.gate.admit(data)
        self.taps.input(data)
        await self.channel.write(data)

    async def resize(self, cols: int, rows: int) -> None:
        assert self.channel is not None
        self.taps.resize(cols, rows)
        await self.channel.resize(cols, rows)

    async def run(self, send: Callable[[bytes], Awaitable[None]]) -> Ending:
        """Pump output to the client until something ends the session; returns why."""
        assert self.channel is not None
        pump, decided = await self._supervise(pump_output(self.channel, self.taps, send))
        if decided is not None:
            ending = decided
        elif pump.done() and not pump.cancelled() and pump.exception() is not None:
            exc = pump.exception()
            if isinstance(exc, ClientGone):
                ending = ending_for("client_gone")
            elif isinstance(exc, TapFailed):
                log.error("session %s: mandatory tap failed", self.id, exc_info=exc)
                ending = ending_for("recording_failed")
            else:
                log.error("session %s: output pump failed", self.id, exc_info=exc)
                ending = ending_for("error")
        else:
            ending = ending_for("target_exited", exit_status=self.channel.exit_status)
        await self.finish(ending)
        return self.ending or ending

    async def _supervise(self, pump: Coroutine[Any, Any, Any]) -> tuple[asyncio.Task[Any], Ending | None]:
        """Run a protocol's pump against the limits, the re-checks and outside stops; the first to end wins.

        Returns the pump's task and the ending when a stop, a limit or a re-check decided it
        (None when the pump itself ended, which only the protocol can interpret). The ticks
        come from the process's one heartbeat (``tick``), not from a task of this session.
        """
        task = asyncio.create_task(pump)
        decided = self._decision()
        # The pump ending wakes us the same way as a decision, with "no ending decided" (None).
        task.add_done_callback(lambda _: self._decide(None))
        beat = heartbeat()
        # A random phase: sessions opened together (a team logging in at 9:00) re-check at different times.
        self._next_recheck = asyncio.get_running_loop().time() + random.uniform(0, self.RECHECK)  # noqa: S311
        beat.join(self)
        try:
            ending = await decided  # if we are cancelled instead, so is the decision: nothing waits for it then
        finally:
            task.cancel()
            beat.leave(self)
            if self._recheck is not None:
                self._recheck.cancel()
        return task, ending

    def _decision(self) -> asyncio.Future[Ending | None]:
        if self._decided is None:
            self._decided = asyncio.get_running_loop().create_future()
        return self._decided

    def _decide(self, ending: Ending | None) -> None:
        """The first decision wins; the supervising ``_supervise`` wakes up."""
        decided = self._decision()
        if not decided.done():
            decided.set_result(ending)

    def tick(self) -> None:
        """Once a TICK, from the heartbeat: flush the recording, apply the limits, start a due re-check."""
        if self._decided is not None and self._decided.done():
            return
        try:
            self.recorder.flush()
        except Exception:
            log.exception("session %s: the recording could not be written", self.id)
            self._decide(ending_for("recording_failed"))
            return
        now = self.services.clock.monotonic()
        if self.idle_seconds and now - self.meter.last_input >= self.idle_seconds:
            self._decide(ending_for("idle_timeout", minutes=f"{self.idle_seconds / 60:g}"))
        elif self.max_seconds and now - self._started >= self.max_seconds:
            self._decide(ending_for("max_duration", length=_duration_words(self.max_seconds)))
        else:
            elapsed = asyncio.get_running_loop().time()  # real elapsed time, not the policy clock
            if self._recheck is None and elapsed >= self._next_recheck:
                self._next_recheck = elapsed + self.RECHECK
                self._recheck = asyncio.create_task(self._recheck_access())

    async def _recheck_access(self) -> None:
        try:
            allowed = await self._still_allowed()
        except Exception:
            log.exception("session %s: access could not be re-checked; ending it", self.id)
            self._decide(ending_for("error"))  # fail closed
            return
        finally:
            self._recheck = None
        if not allowed:
            self._decide(ending_for("access_revoked"))

    async def _still_allowed(self) -> bool:
        """Logout, a password or role change, a disabled user or a withdrawn permission ends the session.

        The full check runs only when the access epoch moved, a time limit it read came due, or
        ``FULL_RECHECK`` passed (webgate/policy/epoch.py says why that is enough)."""
        principal, req = self.principal, self.request
        if principal is None or req is None:
            return True
        epoch = await epoch_reader(self.services).current()  # before anything it stands for is read
        now = self.services.clock.now()
        if self._checked is not None and self._checked.holds(epoch, now, self.FULL_RECHECK):
            return True
        self._checked = None
        user = await User.filter(id=principal.user.id).first()
        if user is None or not user.is_active or (user.expires_at and user.expires_at <= now):
            return False
        web = token = None
        if principal.session is not None:
            web = await WebSession.filter(id=principal.session.id).first()
            if web is None or web.auth_epoch != user.auth_epoch or web.expires_at <= now:
                return False
        elif principal.token is not None:
            token = await ApiToken.filter(id=principal.token.id).first()
            if token is None or token.revoked_at is not None or (token.expires_at and token.expires_at <= now):
                return False
        try:
            grant = await _authorize(self.services, principal, req, now)
        except WebgateError:
            return False
        self._trust(epoch, user, web, token, grant)
        return True

    def _opened_by(self, principal: Principal, req: OpenRequest) -> None:
        """Who opened the session and how: what every re-check judges again."""
        self.principal, self.request = principal, req
        if principal.epoch is not None:  # the opening check was a full one, from that epoch on
            self._trust(principal.epoch, principal.user, principal.session, principal.token, self.grant)

    def _trust(self, epoch: int, user: User, web: WebSession | None, token: ApiToken | None, grant: Grant) -> None:
        """Remember a passed full check: later re-checks skip it until the epoch moves or a limit it read ends."""
        ends = [user.expires_at, web.expires_at if web else None, token.expires_at if token else None, grant.until]
        self._checked = _Passed(epoch, min((e for e in ends if e is not None), default=None),
                                asyncio.get_running_loop().time())

    def end_soon(self, ending: Ending) -> None:
        """Ask a running session to end (from a callback): ``run`` finishes it with ``ending`` and returns."""
        self._decide(ending)

    async def stop(self, ending: Ending) -> None:
        """End the session from outside (client closed, kill, bad input); waits until it is finished."""
        self._decide(ending)
        await self.finish(ending)

    # -- finishing ----------------------------------------------------------------------

    async def finish(self, ending: Ending) -> None:
        """Close everything and finalise the row; the first ending wins, later calls do nothing."""
        async with self._finish_lock:
            if self.ending is not None:
                return
            self.ending = ending
            self._decide(None)
            if self._went_live is not None:
                with contextlib.suppress(Exception):
                    await self._went_live
            if self.channel is not None:
                if ending.exit_status is None and self.channel.exit_status is not None:
                    ending = self.ending = Ending(ending.reason, ending.message, self.channel.exit_status)
                with contextlib.suppress(Exception):
                    await self.channel.close()
            finished = None
            try:
                finished = await self.recorder.finalize()
            except Exception:
                log.exception("session %s: recording could not be finalised", self.id)
            row = self.row
            row.status, row.ended_at, row.end_reason = "ended", self.services.clock.now(), ending.reason[:64]
            row.bytes_in, row.bytes_out = self.meter.bytes_in, self.meter.bytes_out
            if finished is not None:
                row.recording_key, row.recording_sha256 = finished.key, finished.sha256
            try:
                await Session.filter(id=row.id).update(
                    status=row.status, ended_at=row.ended_at, end_reason=row.end_reason, bytes_in=row.bytes_in,
                    bytes_out=row.bytes_out, recording_key=row.recording_key, recording_sha256=row.recording_sha256)
                await _audit(self.services, row, "disconnect", {
                    "end_reason": ending.reason, "bytes_in": row.bytes_in, "bytes_out": row.bytes_out,
                    "exit_status": ending.exit_status})
            finally:
                live_sessions(self.services).remove(self)
