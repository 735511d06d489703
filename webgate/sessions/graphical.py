"""Graphical sessions (VNC, RDP, RemoteApp through guacd): the same LiveSession, with a guacd link as channel.

The order is the terminal one — authorise → secret → row → audit → register → address
policy → dial — and ``finish`` (inherited) finalises the row once, on every kind of end.
What differs: the "dial" is the gateway's own guacd handshake with the parameters the
protocol's planner (``protocols.DESKTOP_CONNECTORS``) built, output is relayed in whole
Guacamole instructions, input arrives as already-filtered instructions, and the recording
is the relayed stream itself (``recording.guac``: the gateway writes what it relays).

``ready`` from guacd is not a successful login: a refused VNC password arrives after it as
``error … 519``; the relay stops on it and the session ends with a plain sentence.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from webgate.auth.principal import Principal
from webgate.db.models import Session
from webgate.errors import BadRequest, ValidationFailed, WebgateError
from webgate.policy.targets import check_target
from webgate.protocols import DESKTOP_CONNECTORS, desktop_connector
from webgate.protocols.guacamole.handshake import (
    Connected,
    Display,
    HandshakeFailed,
    NoGuacd,
    handshake_any,
)
from webgate.protocols.guacamole.instruction import InstructionError, encode, parse_one
from webgate.protocols.guacamole.relay import Relay
from webgate.protocols.guacamole.status import CLOSED_AT_ONCE, CLOSED_AT_ONCE_STATUS, describe
from webgate.protocols.guacamole.target import DesktopPlan, DesktopTarget, Release
from webgate.recording.guac import GuacRecorder, guac_spool_dir
from webgate.services import Services
from webgate.sessions.endings import Ending, ending_for
from webgate.sessions.grant import reveal
from webgate.sessions.input_hold import InputHold
from webgate.sessions.lifecycle import (
    Credentials,
    LiveSession,
    OpenRequest,
    _audit,
    _authorize,
    _create_row,
)
from webgate.sessions.registry import live_sessions
from webgate.sessions.transfers import DRIVE_TRIES, Transfers, drive_offered
from webgate.terminal.channel import ConnectFailed
from webgate.terminal.taps import TapFailed

log = logging.getLogger("webgate.sessions")

MAX_HELD = 8 << 20  # bytes of drawing held back while waiting for guacd to offer the shared drive
NO_GUACD = "The remote desktop service (guacd) is not reachable. Tell your admin."
CLOSED_AT_ONCE_WITHIN = 10.0  # seconds after ``ready``: an RDP hang-up this early, before any key, is a refusal
FILE_OPCODES = frozenset({"put", "file", "blob", "end", "ack"})
GUACD_USER_TIMEOUT = 15.0  # guacd 1.3.0 gives up on a silent browser after this long (776)
TYPED_PROTOCOLS = frozenset({"vnc", "rdp"})  # desktops whose @INPUT login the user types in the browser

# Asks the browser for an @INPUT account's login: (the fixed user name or "", whether to ask it).
AskDesktopCredentials = Callable[[str, bool], Awaitable[Credentials]]


class ClientLeft(Exception):
    """The browser's socket refused the relay's send; ``ending`` says how it left (a closed tab
    or a lost network), as the socket's reader learnt it — not "gone" just because the send
    happened to notice first."""

    def __init__(self, ending: Ending) -> None:
        super().__init__(ending.reason)
        self.ending = ending


class GuacdLink:
    """The open guacd connection in the place of a terminal channel."""

    exit_status: int | None = None
    host_key: str | None = None

    def __init__(self, connected: Connected, release: Release | None = None) -> None:
        self.connected = connected
        self.release = release

    async def write(self, data: bytes) -> None:
        self.connected.writer.write(data)
        await self.connected.writer.drain()

    async def close(self) -> None:
        """Say ``disconnect`` and wait (briefly) for guacd to hang up, so it ends the remote login."""
        writer, reader = self.connected.writer, self.connected.reader
        if not writer.is_closing():
            with contextlib.suppress(Exception):
                writer.write(encode("disconnect").encode())
                async with asyncio.timeout(3):
                    await writer.drain()
                    while await reader.read(1 << 16):
                        pass
            writer.close()
        await _release(self.release)
        self.release = None


async def _release(release: Release | None) -> None:
    """Undo what the planner started; a failure is logged, never raised into the ending."""
    if release is None:
        return
    try:
        await release()
    except Exception:
        log.exception("releasing a desktop's resources failed")


async def _typed(protocol: str, fixed: str, ask: AskDesktopCredentials | None) -> tuple[str, str]:
    """The login an @INPUT account's user types in the browser: held only for the dial, never
    stored or logged. VNC asks only a password (VncAuth has no user name); RDP also the user name
    unless the account fixes it. RemoteApp injects stored credentials on the app host: none to type."""
    if protocol not in TYPED_PROTOCOLS or ask is None:
        raise BadRequest("Typed credentials are not available for this kind of remote desktop; "
                         "ask your admin for a stored account.", code="input_account_unsupported")
    need_username = protocol == "rdp" and not fixed
    typed = await ask(fixed, need_username)
    username = fixed or typed.username
    if need_username and not username.strip():
        raise ValidationFailed({"username": "required"}, "Type the user name to log in with.")
    return username, typed.password


def _endpoint(address: str, port: int) -> tuple[str, int]:
    """Host and port to check: a website asset's address is a URL (its own port wins)."""
    if "://" not in address:
        return address, port
    parts = urlsplit(address)
    return parts.hostname or "", parts.port or {"http": 80, "https": 443}.get(parts.scheme, port)


class GraphicalSession(LiveSession):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.link: GuacdLink | None = None
        self.status: int | None = None  # guacd's status code when guacd ended the session
        self.hold: InputHold | None = None  # the browser's input until the first frame (set at ready)
        self.transfers: Transfers | None = None  # file streams, when the plan shares a drive
        self.guacd_protocol = ""
        self._ready_at = 0.0
        self._typed = False

    @classmethod
    async def open_graphical(cls, services: Services, principal: Principal, req: OpenRequest,
                             display: Display, ask: AskDesktopCredentials | None = None) -> GraphicalSession:
        if req.protocol not in DESKTOP_CONNECTORS:
            raise BadRequest(f"'{req.protocol[:20]}' cannot be opened as a remote desktop here "
                             f"(supported: {', '.join(sorted(DESKTOP_CONNECTORS))}).", code="unsupported_protocol")
        now = services.clock.now()
        grant = await _authorize(services, principal, req, now)  # nothing is read or dialled before it
        password: str | None
        if grant.account is None:  # @INPUT: asked of the browser now, before any row (the terminal order)
            username, password = await _typed(req.protocol, grant.username, ask)
        else:
            username, (password, _) = grant.username, reveal(services, grant.account)
        policy = await services.policy(grant.asset.org_id)
        row = await _create_row(services, principal, grant, req, username, policy, now,
                                playback={"format": "guacamole", "width": display.width, "height": display.height})
        session = cls(services, row, grant, policy)
        session._opened_by(principal, req)
        live_sessions(services).add(session)
        await _audit(services, row, "connect", {"protocol": req.protocol, "account": username})
        try:
            await session._dial(username, password, display)
        except HandshakeFailed as exc:
            reason, message = describe(exc.status, exc.message)
            session.status = exc.status
            await session.finish(Ending(reason, message))
            raise ConnectFailed(message) from None
        except NoGuacd:
            await session.finish(Ending("guacd_unreachable", NO_GUACD))
            raise ConnectFailed(NO_GUACD) from None
        except WebgateError as exc:
            await session.finish(Ending(exc.code, exc.message))
            raise
        except asyncio.CancelledError:
            await session.finish(ending_for("client_closed"))
            raise
        except BaseException:
            await session.finish(ending_for("error"))
            raise
        finally:
            del password
        session.row.status = "live"
        await Session.filter(id=row.id).update(status="live")
        return session

    async def _dial(self, username: str, password: str | None, display: Display) -> None:
        settings = self.services.settings
        host, port = _endpoint(self.grant.asset.address, self.grant.port)
        ip = await check_target(settings, host, port)  # the address dialled (a RemoteApp program's target)
        target = DesktopTarget(
            session_id=self.id, protocol=self.row.protocol, address=str(ip), port=port,
            username=username, password=password, actions=self.grant.actions,
            options={**(self.grant.asset.extra or {}), **(self.request.options if self.request else {})},
            display=display,
            settings=settings, asset_name=self.grant.asset.name)
        plan = await desktop_connector(self.row.protocol)(target)
        del target
        self.guacd_protocol = plan.protocol
        if plan.params.get("enable-drive") == "true":
            self.transfers = Transfers(self.services, self.row)
        try:
            connected = await self._handshake(plan, display)
        except BaseException:
            await _release(plan.release)
            raise
        finally:
            plan.params.clear()
        self.link = GuacdLink(connected, plan.release)
        self.hold, self._ready_at = InputHold(), asyncio.get_running_loop().time()
        self.channel = self.link  # type: ignore[assignment]  # finish() closes it
        try:  # before the first instruction is relayed: nothing reaches the browser unrecorded
            self._attach_recorder(GuacRecorder(session_id=self.id, spool_dir=guac_spool_dir(settings.data_dir),
                                               storage=self.services.storage))
        except OSError as exc:
            log.error("session %s: the recording spool could not be created: %s", self.id, exc)
            raise WebgateError(ending_for("recording_failed").message, code="recording_failed") from None

    async def _handshake(self, plan: DesktopPlan, display: Display) -> Connected:
        """guacd's handshake; for a shared drive, again (up to DRIVE_TRIES) while guacd 1.3.0 loses
        its race to offer it (transfers.drive_offered) — before the browser has seen anything."""
        params = dict(plan.params)
        tries = DRIVE_TRIES if plan.params.get("enable-drive") == "true" else 1
        try:
            for attempt in range(1, tries + 1):
                connected = await handshake_any(self.services.settings.guacd, plan.protocol, params, display)
                if attempt == tries or await drive_offered(connected, MAX_HELD):
                    return connected
                log.info("session %s: guacd did not offer the shared drive; connecting again", self.id)
                connected.writer.close()
            raise AssertionError("not reached")
        finally:
            params.clear()

    async def send_instruction(self, instruction: list[str], *, user_input: bool) -> None:
        """A filtered browser instruction to guacd; user input also resets the idle timer."""
        assert self.link is not None
        data = encode(*instruction).encode()
        if user_input:
            self.taps.input(data)
            self._typed = self._typed or instruction[0] == "key"
        else:
            self.meter.bytes_in += len(data)
        if self.transfers is not None and instruction[0] in FILE_OPCODES:
            await self.transfers.from_browser(instruction)
        if self.hold is not None and self.hold.hold(instruction[0], data):
            return  # sent when the desktop has drawn (input_hold.py)
        await self.link.write(data)

    async def refused(self, instruction: list[str]) -> None:
        """The filter refused this instruction: a file transfer attempt is recorded as refused."""
        await (self.transfers or Transfers(self.services, self.row)).refused(instruction)

    async def finish(self, ending: Ending) -> None:
        transfers, self.transfers = self.transfers, None
        if transfers is not None:
            await transfers.close()
        await super().finish(ending)

    async def run_relay(self, send: Callable[[str], Awaitable[None]]) -> Ending:
        """Relay guacd → browser until something ends the session; returns why."""
        assert self.link is not None

        hold = self.hold or InputHold(0)

        async def out(batch: bytes) -> None:
            self.taps.output(batch)
            if hold.holding:
                hold.watch(batch)
            if self.transfers is not None:
                await self.transfers.from_guacd(batch)
            await send(batch.decode("utf-8"))  # ASGI text frames are str; one C-speed decode per batch

        relay = Relay(self.link.connected.reader, out, self.link.connected.pending)
        holder = asyncio.create_task(hold.run(self.link.write))
        try:
            pump, decided = await self._supervise(relay.run())
        finally:
            holder.cancel()
            await asyncio.wait({holder})
            if not holder.cancelled() and holder.exception() is not None:  # retrieved: guacd hung up mid-write
                log.debug("session %s: held input not delivered: %s", self.id, holder.exception())
        if decided is not None:
            ending = decided
        elif pump.done() and not pump.cancelled() and pump.exception() is not None:
            exc = pump.exception()
            if isinstance(exc, InstructionError | UnicodeDecodeError):
                log.error("session %s: guacd broke the protocol: %s", self.id, exc)
                ending = ending_for("error")
            elif isinstance(exc, ClientLeft):
                ending = exc.ending
            elif isinstance(exc, TapFailed):
                log.error("session %s: the recording could not be written", self.id, exc_info=exc)
                ending = ending_for("recording_failed")
            else:
                ending = ending_for("client_gone")
        elif relay.error is not None:
            ending = self._guacd_error(relay.error)
        else:
            ending = self._target_closed()
        await self.finish(ending)
        return self.ending or ending

    def _guacd_error(self, raw: bytes) -> Ending:
        detail = ""
        try:
            parts = parse_one(raw.decode("utf-8"), max_chars=1 << 16)
            self.status = int(parts[2]) if len(parts) > 2 and parts[2].isdigit() else None
            detail = parts[1] if len(parts) > 1 else ""
        except (InstructionError, UnicodeDecodeError):
            self.status = None
        if self.status == 776 and asyncio.get_running_loop().time() < self._ready_at + GUACD_USER_TIMEOUT:
            # Not the browser: guacd 1.3.0 says "User is not responding" in a race just after the
            # RDP server hung up (a refused login), before its own timeout could have run out.
            return self._target_closed()
        reason, message = describe(self.status, detail)
        return Ending(reason, message)

    def _target_closed(self) -> Ending:
        """guacd hung up without an error. An RDP server that does so right after ``ready``, before
        the user typed anything, refused the login: xrdp (require_credentials) and Windows
        without NLA say nothing else about a wrong password."""
        early = asyncio.get_running_loop().time() < self._ready_at + CLOSED_AT_ONCE_WITHIN
        if self.guacd_protocol == "rdp" and early and not self._typed:
            self.status = CLOSED_AT_ONCE_STATUS
            return Ending(*CLOSED_AT_ONCE)
        return ending_for("target_exited")
