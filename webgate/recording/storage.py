"""Where finished recordings live: a local directory (default) or an S3-compatible bucket.

Keys are built by the gateway from validated UUIDs, never from user input; the local
backend still refuses any key that would leave its root.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from webgate.errors import NotFound, Unavailable
from webgate.settings import Settings


class Storage(Protocol):
    async def put_file(self, key: str, path: Path) -> None: ...
    async def get_bytes(self, key: str) -> bytes: ...
    async def exists(self, key: str) -> bool: ...
    async def delete(self, key: str) -> None: ...
    async def check(self) -> str: ...
    async def close(self) -> None: ...


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root) or path == self.root:
            raise NotFound()
        return path

    async def put_file(self, key: str, path: Path) -> None:
        dest = self._path(key)
        dest.parent.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(_place, path, dest)

    async def get_bytes(self, key: str) -> bytes:
        try:
            return await asyncio.to_thread(self._path(key).read_bytes)
        except FileNotFoundError:
            raise NotFound("This recording is missing from storage.") from None

    async def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    async def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    async def check(self) -> str:
        self.root.mkdir(parents=True, exist_ok=True)
        probe = self.root / ".write-probe"
        probe.write_bytes(b"ok")
        probe.unlink()
        return f"local {self.root}"

    async def close(self) -> None:
        return None


def _place(src: Path, dest: Path) -> None:
    """``src``'s bytes at ``dest``, which appears whole or not at all; ``src`` itself is left in place.

    On the same file system (the spool directory and ``recordings/`` by default) a hard link
    costs nothing, where a copy read and wrote the whole recording again: ~0.4 ms of CPU per
    MB of base64 terminal output at the session's end, a tenth of that end. Elsewhere it is a copy.
    """
    tmp = dest.with_name(f".{dest.name}.{secrets.token_hex(4)}.tmp")
    try:
        try:
            os.link(src, tmp)
        except OSError:  # another file system, or one without hard links
            shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
    except BaseException:  # a copy cut short (full disk) leaves no temp file behind either
        tmp.unlink(missing_ok=True)
        raise


class S3Storage:
    def __init__(self, settings: Settings) -> None:
        parts = urlsplit(settings.recordings_url)
        self.bucket = parts.netloc
        self.prefix = parts.path.strip("/")
        self._settings = settings
        self._client = None
        self._stack = None

    async def _c(self):  # type: ignore[no-untyped-def]
        if self._client is None:
            from contextlib import AsyncExitStack

            from aiobotocore.session import get_session

            self._stack = AsyncExitStack()
            s = self._settings
            from botocore.config import Config

            # Custom endpoints (MinIO, s3rver, Ceph) want path-style URLs: bucket names need no DNS.
            config = Config(s3={"addressing_style": "path"} if s.s3_endpoint else {}, connect_timeout=5,
                            read_timeout=30, retries={"max_attempts": 3, "mode": "standard"})
            self._client = await self._stack.enter_async_context(get_session().create_client(
                "s3", endpoint_url=s.s3_endpoint or None, region_name=s.s3_region, config=config,
                aws_access_key_id=s.s3_access_key or None, aws_secret_access_key=s.s3_secret_key or None))
        return self._client

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    async def _call(self, name: str, **kwargs):  # type: ignore[no-untyped-def]
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return await getattr(await self._c(), name)(Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                raise NotFound("This recording is missing from storage.") from None
            raise Unavailable("Recording storage (S3) refused the request; tell your admin.") from exc
        except (BotoCoreError, OSError) as exc:
            raise Unavailable("Recording storage (S3) is not reachable; tell your admin.") from exc

    async def put_file(self, key: str, path: Path) -> None:
        await self._call("put_object", Key=self._key(key), Body=await asyncio.to_thread(path.read_bytes))

    async def get_bytes(self, key: str) -> bytes:
        response = await self._call("get_object", Key=self._key(key))
        async with response["Body"] as body:
            return await body.read()

    async def exists(self, key: str) -> bool:
        try:
            await self._call("head_object", Key=self._key(key))
        except NotFound:
            return False
        return True

    async def delete(self, key: str) -> None:
        await self._call("delete_object", Key=self._key(key))

    async def check(self) -> str:
        await self._call("head_bucket")
        return f"s3 {self.bucket}/{self.prefix}"

    async def close(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()
            self._client = self._stack = None


def create_storage(settings: Settings) -> Storage:
    parts = urlsplit(settings.recordings_url)
    if parts.scheme == "s3":
        return S3Storage(settings)
    return LocalStorage(Path(parts.path))
