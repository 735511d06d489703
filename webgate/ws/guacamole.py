"""``/ws/guacamole``: the browser's remote-desktop tunnel (guacamole-common-js WebSocketTunnel).

What the browser sees, in order: the tunnel-internal instruction ``0.,36.<uuid>;`` (a
random id of webgate's own, never guacd's connection id — CVE-2021-41767), then guacd's
drawing instructions (``size``, ``img``/``blob``/``end``, ``cursor``, ``sync`` …) relayed in
whole instructions, after one ``webgate "session" <json>`` instruction of the gateway's own
(session id, account name, permitted actions, watermark); for an @INPUT account, before
anything is dialled, ``webgate "credentials" <json>`` asks for the login, and the browser's
``webgate,credentials,<username>,<password>`` answer is consumed here (never forwarded,
logged or recorded; only when asked, once). guacd's ``args`` and ``ready``
are consumed by the gateway's own handshake and never reach the browser. The session ends with an ``error`` instruction (a
sentence and a Guacamole status code) or a ``disconnect``, then the close.

Every browser instruction passes the bounded parser and the permission's allow-list;
anything else (``select``, ``connect``, ``args``, a forged stream, a length lie) closes the
session with ``error … 768``, close code 1008 and an audit row. Internal pings
(``0.,4.ping,<ts>;``) are answered here and never reach guacd.

Query: ``asset``, ``account``, ``protocol`` (``vnc``, ``rdp``, ``remoteapp``), ``width``, ``height``, ``dpi``,
``timezone``, ``image`` (repeatable: the image types the browser decodes, as guacamole-common-js
reports them; PNG always, unknown types ignored, all three when absent), ``audio`` (repeatable:
``audio/L8``, ``audio/L16``; others ignored, none when absent); for RemoteApp ``applet``
(the applet's id).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import uuid

from starlette.routing import WebSocketRoute
from starlette.types import Message
from starlette.websockets import WebSocket, WebSocketState

from webgate.audit.emitter import redact
from webgate.auth.client_ip import client_ip
from webgate.auth.principal import Principal
from webgate.db.models import OperationLog
from webgate.errors import BadRequest, Unauthenticated, ValidationFailed, WebgateError
from webgate.protocols.guacamole.filters import INPUT, InstructionFilter, Refused
from webgate.protocols.guacamole.handshake import Display
from webgate.protocols.guacamole.instruction import InstructionError, Parser, encode
from webgate.services import Services
from webgate.sessions.endings import Ending, ending_for
from webgate.sessions.graphical import ClientLeft, GraphicalSession
from webgate.sessions.lifecycle import Credentials, OpenRequest
from webgate.sessions.recovery import awaited_at_shutdown
from webgate.ws._common import cross_site, disconnect_ending, query_int, reader_ending

log = logging.getLogger("webgate.ws")

MAX_MESSAGE = 1 << 20
MAX_EARLY = 64  # instructions held while the session opens
CREDENTIALS_TIMEOUT = 300.0  # seconds the gateway waits for a typed login (as terminals do)
MAX_TYPED_USERNAME, MAX_TYPED_PASSWORD = 128, 1024  # characters
LEFT_WITHIN = 2.0  # seconds to learn from the reader how the browser left, once a send failed
_TIMEZONE = re.compile(r"[A-Za-z0-9_+\-/]{1,64}")
_APPLET = re.compile(r"[0-9a-fA-F-]{32,36}")
_LOSSY = ("image/jpeg", "image/webp")  # offered to guacd only if the browser says it decodes them
_AUDIO = ("audio/L8", "audio/L16")  # guacd 1.3.0's raw PCM encoders; RDP sound needs the asset's rdp_audio too
BAD_REQUEST, UNAUTHORIZED, SERVER_ERROR, SESSION_CLOSED = 768, 769, 512, 523
_CLOSED_BY_GATEWAY = frozenset({"killed", "idle_timeout", "max_duration", "access_revoked", "gateway_shutdown"})


class ProtocolViolation(Exception):
    """The browser broke the wire format or the allow-list."""


def image_types(wanted: list[str]) -> tuple[str, ...]:
    """The ``image`` list for guacd: a browser that cannot decode WebP must not be sent WebP."""
    if not wanted:
        return Display.image
    return ("image/png", *(t for t in _LOSSY if t in wanted))


def audio_types(wanted: list[str]) -> tuple[str, ...]:
    """The ``audio`` list for guacd: what the browser says it plays, of what guacd can encode."""
    return tuple(t for t in _AUDIO if t in wanted)


class GuacamoleConnection:
    def __init__(self, websocket: WebSocket, services: Services, principal: Principal) -> None:
        self.ws = websocket
        self.services = services
        self.principal = principal
        self.session: GraphicalSession | None = None
        self.parser = Parser()
        self.filter: InstructionFilter | None = None
        self.early: list[list[str]] = []
        self._send_lock = asyncio.Lock()
        self.reader: asyncio.Task[Ending] | None = None
        self._credentials: asyncio.Future[Credentials] | None = None  # while a typed login is asked
        self._credentials_taken = False

    async def send(self, text: str) -> None:
        async with self._send_lock:
            await self.ws.send({"type": "websocket.send", "text": text})

    async def relay_send(self, text: str) -> None:
        """The relay's send: when the socket refuses it, the reader says how the browser left.
        A closed tab queues the browser's close frame for the reader even when the relay's
        next send is the first to fail; without this the row would say "network lost"."""
        try:
            await self.send(text)
        except Exception as exc:
            raise ClientLeft(await self._how_left()) from exc

    async def _how_left(self) -> Ending:
        reader = self.reader
        if reader is not None:
            await asyncio.wait({reader}, timeout=LEFT_WITHIN)
            if reader.done() and not reader.cancelled() and reader.exception() is None:
                return reader.result()
        return ending_for("client_gone")

    # -- typed credentials (@INPUT accounts) ---------------------------------------------

    async def ask_credentials(self, username: str, need_username: bool) -> Credentials:
        """Ask the browser for an @INPUT account's login with ``webgate "credentials" <json>``;
        the answer is taken by ``_take_credentials`` and never reaches guacd, a log or the row."""
        self._credentials = asyncio.get_running_loop().create_future()
        info = {"username": username, "need_username": need_username, "need_password": True}
        await self.send(encode("webgate", "credentials", json.dumps(info, separators=(",", ":"))))
        try:
            return await asyncio.wait_for(self._credentials, CREDENTIALS_TIMEOUT)
        except TimeoutError:
            raise BadRequest("No login arrived in time; connect again.", code="credentials_timeout") from None
        finally:
            self._credentials = None

    def _take_credentials(self, instruction: list[str]) -> None:
        """``webgate,credentials,<username>,<password>``: only as the answer the gateway asked
        for, once, while the session opens, and bounded. Anything else is refused input."""
        asked = self._credentials
        if asked is None or asked.done() or self._credentials_taken:
            raise ProtocolViolation("A username and password were sent that the gateway did not ask for.")
        if len(instruction) != 4 or instruction[1] != "credentials":
            raise ProtocolViolation("An unknown gateway instruction was sent.")
        username, password = instruction[2], instruction[3]
        if len(username) > MAX_TYPED_USERNAME or len(password) > MAX_TYPED_PASSWORD:
            raise ProtocolViolation(f"A typed user name may hold at most {MAX_TYPED_USERNAME} characters "
                                    f"and a password at most {MAX_TYPED_PASSWORD}.")
        self._credentials_taken = True
        asked.set_result(Credentials(username, password))
        instruction.clear()  # the password leaves this list: nothing keeps the parsed instruction

    def _request(self) -> tuple[OpenRequest, Display]:
        q = self.ws.query_params
        asset, account = q.get("asset", ""), q.get("account", "")
        if not asset or not account:
            raise ValidationFailed({k: "required" for k, v in (("asset", asset), ("account", account)) if not v},
                                   "Say which asset and account to connect to.")
        timezone = q.get("timezone", "")
        if timezone and not _TIMEZONE.fullmatch(timezone):
            raise ValidationFailed({"timezone": "must be a time zone name such as Europe/Paris"})
        display = Display(width=query_int(q.get("width", ""), 1024, "width", 8192),
                          height=query_int(q.get("height", ""), 768, "height", 8192),
                          dpi=query_int(q.get("dpi", ""), 96, "dpi", 1200), timezone=timezone,
                          image=image_types(q.getlist("image")), audio=audio_types(q.getlist("audio")))
        options: dict[str, str] = {}
        applet = q.get("applet", "")
        if applet:  # RemoteApp: which configured program to run (checked against the applets table)
            if not _APPLET.fullmatch(applet):
                raise ValidationFailed({"applet": "must be an applet id"})
            options["applet"] = applet
        req = OpenRequest(asset_id=asset, protocol=q.get("protocol", "vnc").lower(), account=account,
                          cols=80, rows=24, client_ip=client_ip(self.ws.scope, self.services.settings.trusted_proxies),
                          user_agent=self.ws.headers.get("user-agent", "")[:512], options=options)
        return req, display

    # -- browser → guacd ----------------------------------------------------------------

    async def read_loop(self) -> Ending:
        while True:
            message: Message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                return disconnect_ending(message)
            text = message.get("text")
            if text is None:
                raw = message.get("bytes") or b""
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    raise ProtocolViolation("The data is not valid UTF-8.") from None
            if len(text) > MAX_MESSAGE:
                raise ProtocolViolation(f"A message may hold at most {MAX_MESSAGE} characters.")
            try:
                instructions = self.parser.feed(text)
            except InstructionError as exc:
                raise ProtocolViolation(str(exc)) from None
            for instruction in instructions:
                await self._on_instruction(instruction)

    async def _on_instruction(self, instruction: list[str]) -> None:
        if instruction[0] == "":  # tunnel-internal: answered here, never forwarded
            if len(instruction) == 3 and instruction[1] == "ping":
                await self.send(encode("", "ping", instruction[2][:32]))
                return
            raise ProtocolViolation("An unknown tunnel instruction was sent.")
        if instruction[0] == "webgate":  # for the gateway itself: consumed here, never forwarded
            self._take_credentials(instruction)
            return
        if self.filter is None:  # still opening: the permission (and so the allow-list) is not known yet
            if instruction[0] == "nop":  # guacamole-common-js's keep-alive while a login is typed
                return
            if len(self.early) >= MAX_EARLY:
                raise ProtocolViolation("Too many instructions were sent before the session opened.")
            self.early.append(instruction)
            return
        try:
            self.filter.check(instruction)
        except Refused as exc:
            if self.session is not None:
                await self.session.refused(instruction)  # a refused file transfer gets its row
            raise ProtocolViolation(str(exc)) from None
        assert self.session is not None
        await self.session.send_instruction(instruction, user_input=instruction[0] in INPUT)

    # -- the connection's life ----------------------------------------------------------

    async def serve(self) -> None:
        await self.send(encode("", str(uuid.uuid4())))  # the tunnel's id: ours, not guacd's
        reader = self.reader = asyncio.create_task(self.read_loop())
        try:
            await self._serve(reader)
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader

    async def _serve(self, reader: asyncio.Task[Ending]) -> None:
        req, display = self._request()
        opening = asyncio.create_task(GraphicalSession.open_graphical(self.services, self.principal, req, display,
                                                                      self.ask_credentials))
        await asyncio.wait({opening, reader}, return_when=asyncio.FIRST_COMPLETED)
        if not opening.done():
            opening.cancel()
            with contextlib.suppress(BaseException):
                await opening
            await self._violation(reader, None)
            return
        session = self.session = opening.result()  # raises WebgateError: reported by the caller
        session.attached = True
        self.filter = InstructionFilter(session.grant.actions)
        if reader.done():
            await session.stop(ending_for("client_closed"))
            await self._violation(reader, session)
            return
        try:
            for instruction in self.early:
                await self._on_instruction(instruction)
        except ProtocolViolation as exc:
            await self._refuse(session, str(exc))
            return
        self.early.clear()
        await self.send(session_instruction(session))
        runner = asyncio.create_task(session.run_relay(self.relay_send))
        await asyncio.wait({runner, reader}, return_when=asyncio.FIRST_COMPLETED)
        if not runner.done():
            if reader.done() and not reader.cancelled() and isinstance(reader.exception(), ProtocolViolation):
                runner.cancel()
                with contextlib.suppress(BaseException):
                    await runner
                await self._refuse(session, str(reader.exception()))
                return
            await session.stop(reader_ending(reader, "guacamole"))
        with contextlib.suppress(BaseException):
            await runner
        ending = session.ending or ending_for("error")
        await self._close_with(ending, session.status)

    async def _violation(self, reader: asyncio.Task[Ending], session: GraphicalSession | None) -> None:
        if reader.done() and not reader.cancelled() and isinstance(reader.exception(), ProtocolViolation):
            await self._refuse(session, str(reader.exception()))

    async def _refuse(self, session: GraphicalSession | None, why: str) -> None:
        """Audit the refused input, end the session and close with an error instruction."""
        changes = {"reason": why[:300], "protocol": "guacamole"}
        if session is not None:
            from webgate.sessions.lifecycle import _audit

            await _audit(self.services, session.row, "input_refused", changes)
            await session.stop(ending_for("protocol_error"))
        else:
            user = self.principal.user
            await OperationLog.create(
                org_id=self.principal.org_id, actor=user.username, actor_id=user.id, action="input_refused",
                resource_type="session", resource_id="", resource_name="", changes=redact(changes),
                ip=client_ip(self.ws.scope, self.services.settings.trusted_proxies)[:64],
                created_at=self.services.clock.now())
        log.warning("guacamole input refused for %s: %s", self.principal.user.username, why)
        await self._close_with(ending_for("protocol_error"), BAD_REQUEST)

    async def _close_with(self, ending: Ending, status: int | None) -> None:
        if self.ws.client_state != WebSocketState.CONNECTED:
            return
        with contextlib.suppress(Exception):
            if ending.reason in ("target_exited", "client_closed"):
                await self.send(encode("disconnect"))
            else:
                fallback = SESSION_CLOSED if ending.reason in _CLOSED_BY_GATEWAY else SERVER_ERROR
                await self.send(encode("error", ending.message, str(status or fallback)))
            await self.ws.close(1008 if ending.reason == "protocol_error" else 1000)



def session_instruction(session: GraphicalSession) -> str:
    """``webgate "session" <json>``: what the page needs to show the session (its id, the
    account, the permitted actions for the clipboard/file panels, the watermark). Sent by
    the gateway, not guacd, once the session is open; guacamole-common-js ignores opcodes
    it does not know, and webgate's client reads this one. Never holds a secret."""
    info = {"session_id": str(session.id), "protocol": session.row.protocol, "asset": session.row.asset_name,
            "username": session.row.account_username, "actions": sorted(session.grant.actions),
            "watermark": session.row.watermark}
    return encode("webgate", "session", json.dumps(info, separators=(",", ":")))


async def guacamole_endpoint(websocket: WebSocket) -> None:
    services: Services = websocket.app.state.services
    principal: Principal | None = websocket.scope.get("webgate.principal")
    if cross_site(websocket, services, principal):
        await websocket.close(code=4403)
        return
    wanted = websocket.scope.get("subprotocols") or []
    await websocket.accept(subprotocol="guacamole" if "guacamole" in wanted else None)
    with awaited_at_shutdown(services):  # a clean stop waits for this socket's goodbye
        try:
            if principal is None or not principal.done:
                raise Unauthenticated("Your login has expired; log in again to open a remote desktop.")
            await GuacamoleConnection(websocket, services, principal).serve()
        except WebgateError as exc:
            await _fail(websocket, exc)
        except Exception:
            log.exception("guacamole WebSocket failed")
            await _fail(websocket, WebgateError())


async def _fail(websocket: WebSocket, exc: WebgateError) -> None:
    if websocket.client_state != WebSocketState.CONNECTED:
        return
    status = UNAUTHORIZED if isinstance(exc, Unauthenticated) else (
        BAD_REQUEST if exc.status in (400, 404, 422) else 771 if exc.status == 403 else SERVER_ERROR)
    with contextlib.suppress(Exception):
        await websocket.send_text(encode("error", exc.message, str(status)))
        await websocket.close(exc.ws_close)


routes = [WebSocketRoute("/ws/guacamole", guacamole_endpoint)]
