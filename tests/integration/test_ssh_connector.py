"""The SSH connector against a real sshd: what the gateway does to stay cheap must not break the link."""

from __future__ import annotations

import asyncio

import pytest

from tests.integration.conftest import SshPeer
from webgate.protocols.ssh import SSHChannel, open_channel
from webgate.terminal.channel import Target

pytestmark = pytest.mark.slow


async def _open(sshd: SshPeer) -> SSHChannel:
    return await open_channel(Target(host=sshd.host, port=sshd.port, username=sshd.password_user,
                                     password=sshd.password, known_host_key=sshd.host_key))


async def _read_until(channel: SSHChannel, marker: bytes, within: float = 15) -> bytes:
    seen = b""
    async with asyncio.timeout(within):
        while marker not in seen:
            chunk = await channel.read()
            assert chunk, f"closed before {marker!r}: {seen[-200:]!r}"
            seen += chunk
    return seen


async def test_aes_gcm_is_chosen_and_a_rekey_after_login_keeps_the_terminal_working(sshd: SshPeer) -> None:
    channel = await _open(sshd)
    conn = channel._conn
    try:
        # Hardware AES-GCM rather than chacha20-poly1305: the cheaper cipher per MB of output.
        assert conn.get_extra_info("send_cipher") == conn.get_extra_info("recv_cipher") == "aes128-gcm@openssh.com"
        assert conn._client_kexinit == b"" and conn._server_kexinit == b""  # handshake leftovers dropped
        # The decrypted password is not kept for the session's life by asyncssh either.
        assert conn._password is None and conn._options.password is None
        assert sshd.password not in repr(vars(conn._options)) and sshd.password not in repr(vars(conn))
        conn._rekey_bytes = 1  # test hook: the next packet we send starts a new key exchange
        await channel.write(b"echo RE$((20+22))KEYED\n")
        await _read_until(channel, b"RE42KEYED")
        assert conn._client_kexinit != b""  # a new exchange happened, with fresh KEXINITs
        conn._rekey_bytes = 1 << 40
        await channel.write(b"head -c 300000 /dev/zero | tr '\\0' x; echo; echo AFTER$((6*7))\n")
        output = await _read_until(channel, b"AFTER42")
        assert output.count(b"x") >= 300000  # bulk output over the new keys, nothing lost
    finally:
        await channel.close()


async def test_output_is_not_lost_when_the_reader_falls_behind(sshd: SshPeer) -> None:
    """Above the high-water mark the connector stops reading the target; reading again resumes it."""
    channel = await _open(sshd)
    try:
        await channel.write(b"seq 1 200000; echo DONE$((6*7))\n")
        await asyncio.sleep(1.0)  # the target writes ~1.3 MB meanwhile: reading must have paused
        output = await _read_until(channel, b"DONE42", within=30)
        numbers = [line for line in output.replace(b"\r", b"").split(b"\n") if line.isdigit()]
        assert numbers[-1] == b"200000" and len(numbers) >= 199_000
        assert numbers == [str(n).encode() for n in range(int(numbers[0]), 200_001)]  # in order, no gap
    finally:
        await channel.close()
