"""``/ws/terminal``: the browser's terminal transport (protocol in docs/terminal-protocol.md).

Binary frames carry terminal bytes both ways, untouched; JSON text frames carry typed
control messages. This module only translates frames to calls on a ``LiveSession``
and back; authorisation, recording and timeouts live in the session lifecycle.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from typing import Any

from starlette.routing import WebSocketRoute
from starlette.types import Message
from starlette.websockets import WebSocket, WebSocketState

from webgate.auth.client_ip import client_ip
from webgate.auth.principal import Principal
from webgate.errors import (
    BadRequest,
    Conflict,
    TooLarge,
    Unauthenticated,
    ValidationFailed,
    WebgateError,
)
from webgate.services import Services
from webgate.sessions.endings import Ending, ending_for
from webgate.sessions.lifecycle import Credentials, LiveSession, OpenRequest
from webgate.sessions.recovery import awaited_at_shutdown
from webgate.sessions.registry import live_sessions
from webgate.terminal.gate import InputRefused
from webgate.ws._common import cross_site, disconnect_ending, query_int, reader_ending
from webgate.ws.messages import (
    MAX_COLS,
    MAX_ROWS,
    CredentialsMsg,
    Ping,
    Resize,
    error,
    parse_client_message,
    status,
)

log = logging.getLogger("webgate.ws")

MAX_BINARY = 1 << 20  # one input frame; the SPA sends large pastes in 64 KiB frames
MAX_TEXT = 8 << 10
CREDENTIALS_TIMEOUT = 300.0



class TerminalConnection:
    """One browser WebSocket driving at most one live session."""

    def __init__(self, websocket: WebSocket, services: Services, principal: Principal) -> None:
        self.ws = websocket
        self.services = services
        self.principal = principal
        self.session: LiveSession | None = None
        self._send_lock = asyncio.Lock()
        self._credentials: asyncio.Future[Credentials] | None = None
        self._size: tuple[int, int] | None = None
        self._reader: asyncio.Task[Ending] | None = None

    async def send_text(self, text: str) -> None:
        async with self._send_lock:
            await self.ws.send({"type": "websocket.send", "text": text})

    async def send_bytes(self, data: bytes) -> None:
        try:
            async with self._send_lock:
                await self.ws.send({"type": "websocket.send", "bytes": data})
        except Exception:
            await self._blame_bad_frames()
            raise

    async def _blame_bad_frames(self) -> None:
        """Output failed because the socket layer threw the browser out for bad frames (too big,
        invalid UTF-8): the reader is about to say so; let that, not "browser gone", end the row."""
        reader, session = self._reader, self.session
        if reader is None or session is None:
            return
        await asyncio.wait({reader}, timeout=1.0)
        if reader.done() and not reader.cancelled() and reader.exception() is None:
            ending = reader.result()
            if ending.reason == "protocol_error":  # shielded: the pump (this task) is cancelled next
                await asyncio.shield(session.stop(ending))

    def _request(self) -> OpenRequest:
        q = self.ws.query_params
        asset, account = q.get("asset", ""), q.get("account", "")
        if not asset or not account:
            raise ValidationFailed({k: "required" for k, v in (("asset", asset), ("account", account)) if not v},
                                   "Say which asset and account to connect to.")
        protocol = q.get("protocol", "ssh").lower()
        options: dict[str, str] = {}
        if protocol == "k8s":
            from webgate.protocols.kubernetes import pod_options

            options = pod_options(q.get("namespace", ""), q.get("pod", ""), q.get("container", ""))
        return OpenRequest(
            asset_id=asset, protocol=protocol, account=account, options=options,
            cols=query_int(q.get("cols", ""), 80, "cols", MAX_COLS), rows=query_int(q.get("rows", ""), 24, "rows", MAX_ROWS),
            client_ip=client_ip(self.ws.scope, self.services.settings.trusted_proxies),
            user_agent=self.ws.headers.get("user-agent", "")[:512])

    async def _ask_credentials(self, username: str) -> Credentials:
        self._credentials = asyncio.get_running_loop().create_future()
        await self.send_text(status("credentials_required", username=username))
        try:
            return await asyncio.wait_for(self._credentials, CREDENTIALS_TIMEOUT)
        except TimeoutError:
            raise BadRequest("No username and password arrived in time; connect again.",
                             code="credentials_timeout") from None
        finally:
            self._credentials = None

    # -- client → gateway ---------------------------------------------------------------

    async def read_loop(self) -> Ending:
        """Handle frames until the client leaves (client_closed) or breaks the protocol (protocol_error)."""
        while True:
            message: Message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                return disconnect_ending(message)
            try:
                if message.get("bytes") is not None:
                    await self._on_bytes(message["bytes"])
                elif message.get("text") is not None:
                    await self._on_text(message["text"])
            except TooLarge as exc:
                await self.send_text(error(exc.code, exc.message, fatal=True))
                return ending_for("protocol_error")
            except (BadRequest, ValidationFailed, InputRefused, Conflict) as exc:
                await self.send_text(error(exc.code, exc.message, details=exc.details))

    async def _on_bytes(self, data: bytes) -> None:
        if len(data) > MAX_BINARY:
            raise TooLarge(f"An input frame may hold at most {MAX_BINARY} bytes; send large pastes in pieces.")
        if self.session is None or self.session.channel is None:
            raise Conflict("The session is not open yet; this input was not sent.", code="not_open")
        if data:
            await self.session.input(data)

    async def _on_text(self, text: str) -> None:
        if len(text) > MAX_TEXT:
            raise TooLarge(f"A control message may hold at most {MAX_TEXT} characters.")
        msg = parse_client_message(text)
        if isinstance(msg, Resize):
            if self.session is not None and self.session.channel is not None:
                await self.session.resize(msg.cols, msg.rows)
            else:
                self._size = (msg.cols, msg.rows)  # applied once the session is open
        elif isinstance(msg, Ping):
            await self.send_text(json.dumps({"type": "pong", "t": msg.t}))
        elif isinstance(msg, CredentialsMsg):
            if self._credentials is None or self._credentials.done():
                raise Conflict("No username and password were asked for.", code="unexpected_credentials")
            self._credentials.set_result(Credentials(msg.username, msg.password))

    # -- the connection's life ----------------------------------------------------------

    async def serve(self) -> None:
        reader = self._reader = asyncio.create_task(self.read_loop())
        try:
            await self._serve(reader)
        finally:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await reader

    async def _serve(self, reader: asyncio.Task[Ending]) -> None:
        if self.ws.query_params.get("session"):
            await self._refuse_reattach(self.ws.query_params["session"])
            return
        req = self._request()
        await self.send_text(status("connecting"))
        opening = asyncio.create_task(LiveSession.open(self.services, self.principal, req, self._ask_credentials))
        await asyncio.wait({opening, reader}, return_when=asyncio.FIRST_COMPLETED)
        if not opening.done():  # the browser left (or broke the protocol) while we were dialling
            opening.cancel()
            with contextlib.suppress(BaseException):
                await opening
            return
        session = self.session = opening.result()  # raises WebgateError: reported by the caller
        del opening  # a finished task keeps its coroutine: not for the whole session
        session.attached = True
        if self._size is not None:
            await session.resize(*self._size)
        await self.send_text(status("open", session_id=str(session.id), username=session.row.account_username,
                                    actions=sorted(session.grant.actions)))
        await self.send_text(json.dumps({"type": "watermark", **session.row.watermark}))
        # The session runs in this task; the browser's side ending (closed, broke the protocol) ends it
        # through a callback rather than a second task racing it: less to keep per idle session.
        def browser_done(task: asyncio.Task[Ending]) -> None:
            session.end_soon(reader_ending(task, "terminal"))

        reader.add_done_callback(browser_done)
        try:
            await session.run(self.send_bytes)
        except asyncio.CancelledError:  # the server is going down without draining: still finish the row
            await asyncio.shield(session.stop(ending_for("error")))
            raise
        finally:
            reader.remove_done_callback(browser_done)
        ending = session.ending or ending_for("error")
        await self._close(ending.to_json(), 1000 if ending.reason != "protocol_error" else 1008)

    async def _refuse_reattach(self, raw: str) -> None:
        try:
            live = live_sessions(self.services).get(uuid.UUID(raw))
        except ValueError:
            live = None
        if live is not None and live.row.user_id == self.principal.user.id and live.attached:
            exc: WebgateError = Conflict("This session is already open in another window or tab; "
                                         "close that one first.", code="already_attached")
        else:
            exc = Conflict("This session cannot be re-opened; start a new one.", code="not_resumable")
        await self._close(json.loads(error(exc.code, exc.message, fatal=True)), exc.ws_close)

    async def _close(self, last: dict[str, Any], code: int) -> None:
        if self.ws.client_state != WebSocketState.CONNECTED:
            return
        with contextlib.suppress(Exception):
            await self.send_text(json.dumps(last))
            await self.ws.close(code)



async def terminal_endpoint(websocket: WebSocket) -> None:
    services: Services = websocket.app.state.services
    principal: Principal | None = websocket.scope.get("webgate.principal")
    if cross_site(websocket, services, principal):
        await websocket.close(code=4403)
        return
    await websocket.accept()
    with awaited_at_shutdown(services):  # a clean stop waits for this socket's goodbye
        try:
            if principal is None or not principal.done:
                raise Unauthenticated("Your login has expired; log in again to open a terminal.")
            conn = TerminalConnection(websocket, services, principal)
            await conn.serve()
        except WebgateError as exc:
            await _fail(websocket, exc)
        except Exception:
            log.exception("terminal WebSocket failed")
            await _fail(websocket, WebgateError())


async def _fail(websocket: WebSocket, exc: WebgateError) -> None:
    if websocket.client_state != WebSocketState.CONNECTED:
        return
    with contextlib.suppress(Exception):
        await websocket.send_text(error(exc.code, exc.message, fatal=True, details=exc.details))
        await websocket.close(exc.ws_close)


routes = [WebSocketRoute("/ws/terminal", terminal_endpoint)]
