"""SSH connector (asyncssh): password, private key (with passphrase), keyboard-interactive.

Host keys are trusted on first use per asset: the caller passes the key recorded for
the asset (or None) and reads ``channel.host_key`` afterwards to record it. A key that
differs from the recorded one refuses the connection before any credential is sent.

The data path hands over whole buffers: ``data_received`` keeps the packets' bytes
as they came, ``read`` takes all of them at once (one packet: no copy; several: one
join; no per-byte work, no decoding — a UTF-8 character split across two SSH packets
stays split until a decoder downstream joins it). Reading from the target pauses
above ``_HIGH_WATER`` bytes, so a slow browser slows the target instead of growing
memory. Waiting is on a future made only while someone waits: an idle session holds
no ``asyncio.Event`` (each carries a waiter deque of ~0.8 KiB).
"""

from __future__ import annotations

import asyncio
import signal as _signal
import socket

import asyncssh

from webgate.terminal.channel import ConnectFailed, Target

CONNECT_TIMEOUT = 10.0
KEEPALIVE_INTERVAL = 15
KEEPALIVE_COUNT_MAX = 4
_HIGH_WATER = 256 * 1024
_ENV = {"LANG": "C.UTF-8", "LC_CTYPE": "C.UTF-8"}


# asyncssh's own cipher list with AES-GCM moved to the front ("^" = prepend, as in OpenSSH).
# Both GCM and chacha20-poly1305 are AEAD; GCM runs in AES-NI hardware and costs one call
# per packet where asyncssh's chacha20-poly1305 makes three: ~4x less gateway CPU per MB of
# terminal output (bench/terminal.py).
_CIPHERS = "^aes128-gcm@openssh.com,aes256-gcm@openssh.com"


class _Client(asyncssh.SSHClient):
    """Checks the host key against the recorded one and answers password-like prompts."""

    def __init__(self, expected: asyncssh.SSHKey | None, password: str | None) -> None:
        self._expected = expected
        self._password = password
        self.seen: asyncssh.SSHKey | None = None
        self.mismatch = False
        self._kbdint_tried = False

    def forget_password(self) -> None:
        self._password = None

    def validate_host_public_key(self, host: str, addr: str, port: int, key: asyncssh.SSHKey) -> bool:
        self.seen = key
        if self._expected is None or key.public_data == self._expected.public_data:
            return True
        self.mismatch = True
        return False

    def kbdint_auth_requested(self) -> str | None:
        # Offer keyboard-interactive once: a wrong password must fail fast, not loop until the timeout.
        if self._password is None or self._kbdint_tried:
            return None
        self._kbdint_tried = True
        return ""

    def kbdint_challenge_received(self, name: str, instructions: str, lang: str,
                                  prompts: list[tuple[str, bool]]) -> list[str] | None:
        if not prompts:
            return []  # an instructions-only round
        # One hidden prompt is a password prompt whatever its wording or language (PAM varies).
        if self._password is not None and len(prompts) == 1 and not prompts[0][1]:
            return [self._password]
        return None


def _wake(waiter: asyncio.Future[None] | None) -> None:
    if waiter is not None and not waiter.done():
        waiter.set_result(None)


class _Session(asyncssh.SSHClientSession[bytes]):
    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.size = 0
        self.eof = False
        self.paused = False  # we stopped reading from the target (the browser is behind)
        self.blocked = False  # the target stopped reading from us (it is behind)
        self.exit_status: int | None = None
        self.chan: asyncssh.SSHClientChannel[bytes] | None = None
        # While ``read`` waits for data and while ``write`` waits for the target: the output pump and
        # the input path run at the same time, so each has its own.
        self.reader: asyncio.Future[None] | None = None
        self.writer: asyncio.Future[None] | None = None

    def connection_made(self, chan: asyncssh.SSHClientChannel[bytes]) -> None:  # type: ignore[override]
        self.chan = chan

    def data_received(self, data: bytes, datatype: asyncssh.DataType) -> None:
        self.chunks.append(data)
        self.size += len(data)
        _wake(self.reader)
        if self.size >= _HIGH_WATER and not self.paused and self.chan is not None:
            self.paused = True
            self.chan.pause_reading()

    def eof_received(self) -> bool:
        # Not the end yet: OpenSSH sends EOF *before* the exit status; the end is connection_lost.
        return False

    def exit_status_received(self, status: int) -> None:
        self.exit_status = status

    def exit_signal_received(self, signal: str, core_dumped: bool, msg: str, lang: str) -> None:
        self.exit_status = 128 + int(getattr(_signal, f"SIG{signal}", 0))

    def connection_lost(self, exc: Exception | None) -> None:
        self.eof = True
        _wake(self.reader)
        _wake(self.writer)

    def pause_writing(self) -> None:
        self.blocked = True

    def resume_writing(self) -> None:
        self.blocked = False
        _wake(self.writer)


class SSHChannel:
    __slots__ = ("_conn", "_chan", "_s", "host_key")  # one per live session: no __dict__

    def __init__(self, conn: asyncssh.SSHClientConnection, chan: asyncssh.SSHClientChannel[bytes],
                 session: _Session, host_key: str | None) -> None:
        self._conn = conn
        self._chan = chan
        self._s = session
        self.host_key = host_key

    @property
    def exit_status(self) -> int | None:
        return self._s.exit_status

    async def read(self) -> bytes:
        s = self._s
        while not s.chunks:
            if s.eof:
                return b""
            s.reader = asyncio.get_running_loop().create_future()
            try:
                await s.reader
            finally:
                s.reader = None
        data = s.chunks[0] if len(s.chunks) == 1 else b"".join(s.chunks)
        s.chunks.clear()
        s.size = 0
        if s.paused:
            s.paused = False
            self._chan.resume_reading()
        return data

    async def write(self, data: bytes) -> None:
        """Send input; waits while the target is not reading (the input path writes one frame at a time)."""
        if self._s.eof:
            return
        self._chan.write(data)
        s = self._s
        while s.blocked and not s.eof:
            s.writer = asyncio.get_running_loop().create_future()
            try:
                await s.writer
            finally:
                s.writer = None

    async def resize(self, cols: int, rows: int) -> None:
        if not self._s.eof:
            self._chan.change_terminal_size(cols, rows)

    async def close(self) -> None:
        self._chan.close()
        self._conn.close()
        try:
            await asyncio.wait_for(self._conn.wait_closed(), 5)
        except (TimeoutError, OSError, asyncssh.Error):
            pass


def _fingerprint(key: asyncssh.SSHKey | None) -> str:
    return key.get_fingerprint("sha256") if key is not None else "unknown"


def _load_key(target: Target) -> list[asyncssh.SSHKey] | None:
    if not target.private_key:
        return None
    try:
        return [asyncssh.import_private_key(target.private_key, target.passphrase or None)]
    except (asyncssh.KeyImportError, ValueError, TypeError):
        raise ConnectFailed("The private key stored for this account could not be read "
                            "(wrong passphrase or not an SSH private key). Ask your admin to check the account.",
                            code="bad_private_key") from None


async def open_channel(target: Target) -> SSHChannel:
    """Dial, verify the host key, authenticate and start a shell with a PTY."""
    expected = asyncssh.import_public_key(target.known_host_key) if target.known_host_key else None
    client = _Client(expected, target.password)
    where = f"{target.host}:{target.port}"
    try:
        conn = await asyncssh.connect(
            target.host, target.port, client_factory=lambda: client, username=target.username,
            password=target.password, client_keys=_load_key(target), known_hosts=([], [], []),
            agent_path=None, config=None, connect_timeout=CONNECT_TIMEOUT, encryption_algs=_CIPHERS,
            keepalive_interval=KEEPALIVE_INTERVAL, keepalive_count_max=KEEPALIVE_COUNT_MAX)
    except asyncssh.HostKeyNotVerifiable:
        if not client.mismatch:
            raise ConnectFailed(f"The SSH host key of {where} could not be verified.", code="host_key_invalid") from None
        changed = ConnectFailed(
            f"The SSH host key of {target.asset_name or where} has changed since it was first recorded "
            f"(recorded {_fingerprint(expected)}, now {_fingerprint(client.seen)}). This happens when the "
            "server was reinstalled, but it can also mean someone is intercepting the connection, so it was "
            "refused. An admin must confirm the new key before anyone can connect.",
            code="host_key_changed",
            details={"recorded": _fingerprint(expected), "presented": _fingerprint(client.seen)})
        # The key itself, for the lifecycle to keep for an admin to accept (not sent to the browser).
        changed.presented_key = (client.seen.export_public_key("openssh").decode().strip()  # type: ignore[attr-defined]
                                 if client.seen else None)
        raise changed from None
    except asyncssh.PermissionDenied:
        raise ConnectFailed(f"{where} refused the login for user '{target.username}' (wrong password or key). "
                            "Check the account, or ask your admin.", code="target_auth_failed") from None
    except TimeoutError:
        raise ConnectFailed(f"{where} did not answer within {CONNECT_TIMEOUT:.0f} seconds. "
                            "The asset may be down or a firewall may block it.", code="target_timeout") from None
    except socket.gaierror:
        raise ConnectFailed(f"The address '{target.host}' could not be resolved. Ask your admin to check the asset.",
                            code="target_unreachable") from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ConnectFailed(f"Could not reach {where} ({reason.lower()}). The asset may be down, "
                            "or the address or port may be wrong.", code="target_unreachable") from None
    except asyncssh.Error as exc:
        raise ConnectFailed(f"{where} closed the SSH connection: {exc.reason}", code="target_refused") from None
    try:
        session = _Session()
        chan, _ = await conn.create_session(
            lambda: session, term_type="xterm-256color", term_size=(target.cols, target.rows),
            env=_ENV, encoding=None)
    except (asyncssh.Error, OSError) as exc:
        conn.close()
        raise ConnectFailed(f"{where} accepted the login but refused to open a terminal: {exc}",
                            code="target_refused") from None
    host_key = client.seen.export_public_key("openssh").decode().strip() if client.seen else None
    _drop_login_leftovers(conn, client)
    return SSHChannel(conn, chan, session, host_key)


# What asyncssh keeps from the login for the connection's whole life but reads only while it
# lasts: both KEXINIT messages (a key exchange reads them; every re-key sends and receives new
# ones), the server's signature algorithms, and the credentials themselves. Dropped once logged
# in: ~5 KiB of a ~65 KiB idle session (bench/terminal.py), and the decrypted password or private
# key no longer sits in memory for the hours a session may last. Private attributes of asyncssh:
# one that a newer version no longer has is left alone (tests/integration/test_ssh_connector.py).
_LOGIN_LEFTOVERS: tuple[tuple[str, object], ...] = (
    ("_client_kexinit", b""), ("_server_kexinit", b""), ("_server_sig_algs", frozenset()),
    ("_password", None), ("_client_keys", ()))


def _drop_login_leftovers(conn: asyncssh.SSHClientConnection, client: _Client) -> None:
    for name, empty in _LOGIN_LEFTOVERS:
        if hasattr(conn, name):
            setattr(conn, name, empty)
    options = getattr(conn, "_options", None)
    given = getattr(options, "kwargs", {})  # the options also keep the arguments they were made from
    for name in ("password", "client_keys", "passphrase"):
        if getattr(options, name, None) is not None:
            setattr(options, name, None)
        if isinstance(given, dict) and given.get(name) is not None:
            given[name] = None
    client.forget_password()
