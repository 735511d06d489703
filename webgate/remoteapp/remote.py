"""``RemoteAppHost``: the app-host calls over HTTP to ``webgate apphost-agent`` on another machine.

The agent is authenticated by the shared token (``WEBGATE_APP_HOST_TOKEN``) and receives
the target's password in the start request, so the link must be private: an ``https``
agent URL, or a network only the gateway reaches. The display it returns is reached by
guacd directly (the agent's ``--vnc-host``), protected by its one-time VNC password.
"""

from __future__ import annotations

import httpx

from webgate.remoteapp.host import AppDisplay, AppHostError, AppSpec

TIMEOUT = httpx.Timeout(30.0, connect=5.0)  # a browser's first start on a cold host takes seconds
UNREACHABLE = "The app host is not reachable. Try again later, or tell your admin."


class RemoteAppHost:
    def __init__(self, url: str, token: str) -> None:
        self.url = url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}"}

    async def start(self, spec: AppSpec) -> AppDisplay:
        try:
            async with httpx.AsyncClient(timeout=TIMEOUT, headers=self.headers) as http:
                r = await http.post(f"{self.url}/displays", json=spec.to_json())
        except httpx.HTTPError:
            raise AppHostError(UNREACHABLE) from None
        if r.status_code != 200:
            raise AppHostError(_message(r))
        data = r.json()
        return AppDisplay(id=str(data["id"]), host=str(data["host"]), port=int(data["port"]),
                          password=str(data["password"]))

    async def stop(self, display_id: str) -> None:
        async with httpx.AsyncClient(timeout=TIMEOUT, headers=self.headers) as http:
            r = await http.delete(f"{self.url}/displays/{display_id}")
        if r.status_code not in (204, 404):
            raise AppHostError(_message(r))


    async def readiness(self) -> tuple[bool, str]:
        """The agent's own readiness (``GET /health`` with the token)."""
        try:
            async with httpx.AsyncClient(timeout=httpx.Timeout(5.0), headers=self.headers) as http:
                r = await http.get(f"{self.url}/health")
        except httpx.HTTPError as exc:
            return False, f"{self.url} not reachable ({type(exc).__name__})"
        if r.status_code == 401:
            return False, f"{self.url} refused the token (WEBGATE_APP_HOST_TOKEN differs from the agent's)"
        try:
            data = r.json()
        except ValueError:
            return False, f"{self.url} answered {r.status_code} without JSON: is it a webgate apphost-agent?"
        return bool(data.get("ok")) and r.status_code == 200, f"{self.url} {str(data.get('detail', ''))[:200]}"


def _message(r: httpx.Response) -> str:
    try:
        message = r.json().get("error")
    except ValueError:
        message = None
    if r.status_code == 401:
        return "The app host refused the gateway's token. Tell your admin."
    return str(message)[:300] if message else UNREACHABLE
