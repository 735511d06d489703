"""RemoteApp through a remote app host: the gateway asks ``webgate apphost-agent`` over HTTP.

The agent runs in-process on a loopback port with its own program allow-list; the session
is the same as with the local host (the SQL tool opens pre-filled, everything is removed at
the end), and the agent refuses a wrong token and programs it was not told to allow.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import uvicorn

from tests.integration.test_remoteapp import STANDIN, _db_session, db_user  # noqa: F401 - fixture
from tests.peers.sshd import free_port
from webgate.remoteapp.agent import create_agent
from webgate.remoteapp.host import AppHostError, AppSpec
from webgate.remoteapp.local import LocalAppHost
from webgate.remoteapp.remote import RemoteAppHost
from webgate.services import Services
from webgate.settings import AppHostRef, Settings

pytestmark = pytest.mark.slow

TOKEN = "agent-token-0123456789abcdef"  # noqa: S105 - a test token


@pytest.fixture
def agent_port() -> int:
    return free_port()


@pytest.fixture
def settings(settings: Settings, guacd_port: int, tmp_path: Path, agent_port: int) -> Settings:
    standin = tmp_path / "sqltool"
    standin.write_text(STANDIN)
    standin.chmod(0o755)
    return settings.with_(guacd=(("127.0.0.1", guacd_port),), app_programs=(),  # the local host may run nothing
                          app_hosts=(AppHostRef("apps1", f"http://127.0.0.1:{agent_port}"),), app_host_token=TOKEN,
                          allow_targets=(*settings.allow_targets, "127.0.0.1:3306"))


@pytest.fixture
async def agent(tmp_path: Path, agent_port: int) -> AsyncIterator[LocalAppHost]:
    host = LocalAppHost(programs=(str(tmp_path / "sqltool"),))
    server = uvicorn.Server(uvicorn.Config(create_agent(host, TOKEN), host="127.0.0.1", port=agent_port,
                                           log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event for it
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    yield host
    server.should_exit = True
    await asyncio.wait_for(task, 10)
    assert host.running == {}, "the agent tore down what it started"


async def test_sql_tool_on_a_remote_app_host(services: Services, gateway: str, db_user: str,  # noqa: F811
                                             tmp_path: Path,
                                             agent: LocalAppHost, caplog: pytest.LogCaptureFixture) -> None:
    await _db_session(services, gateway, tmp_path, caplog, app_host="apps1")
    assert agent.running == {}, "the session's end stopped the display on the agent"


async def test_the_agent_refuses_a_wrong_token_and_programs_it_does_not_allow(agent: LocalAppHost,
                                                                            agent_port: int) -> None:
    url = f"http://127.0.0.1:{agent_port}"
    spec = AppSpec(session_id="s", program="xterm", arguments=[], values={})
    with pytest.raises(AppHostError, match="refused the gateway's token"):
        await RemoteAppHost(url, "wrong-token-0123456789").start(spec)
    with pytest.raises(AppHostError, match="does not allow the program 'xterm'"):
        await RemoteAppHost(url, TOKEN).start(spec)
    assert agent.running == {}


async def test_check_reports_each_app_host_in_words(agent: LocalAppHost, agent_port: int, settings: Settings,
                                                   tmp_path: Path) -> None:
    """``webgate check``: an agent that answers with the right token and has its programs is ok; a
    wrong token, an agent that is down, and a local host missing a program each say what to fix."""
    from webgate.checks import _app_hosts

    url = f"http://127.0.0.1:{agent_port}"
    assert await RemoteAppHost(url, TOKEN).readiness() == (True, f"{url} Xvnc and {tmp_path / 'sqltool'} found")
    ok, detail = await RemoteAppHost(url, "wrong-token-0123456789").readiness()
    assert not ok and "refused the token" in detail
    ok, detail = await RemoteAppHost(f"http://127.0.0.1:{free_port()}", TOKEN).readiness()
    assert not ok and "not reachable" in detail
    checked = await _app_hosts(settings.with_(app_hosts=(AppHostRef("local"), *settings.app_hosts),
                                              app_programs=("chromium", "no-such-sql-tool")))
    assert checked[0][0] == "app host local" and checked[0][1] is None  # a warning: RemoteApp is optional
    assert "no-such-sql-tool" in checked[0][2] and "chromium" not in checked[0][2]
    assert checked[1] == ("app host apps1", True, f"{url} Xvnc and {tmp_path / 'sqltool'} found")
