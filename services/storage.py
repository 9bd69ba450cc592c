"""Local media storage, served under /media/ with unguessable names."""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path

MEDIA_ROUTE = "/media"


class MediaStorage:
    def __init__(self, root: Path):
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)

    def new_key(self, folder: str, suffix: str) -> str:
        return f"{folder}/{secrets.token_urlsafe(24)}{suffix}"

    def path_for(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"storage key escapes the media folder: {key!r}")
        return path

    def write_bytes(self, key: str, data: bytes) -> Path:
        """Write atomically: a reader never sees a half-written file."""
        path = self.path_for(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path

    def delete(self, key: str) -> None:
        self.path_for(key).unlink(missing_ok=True)

    def read_bytes(self, key: str) -> bytes:
        return self.path_for(key).read_bytes()

    def size(self, key: str) -> int:
        return self.path_for(key).stat().st_size

    @staticmethod
    def url_path(key: str) -> str:
        return f"{MEDIA_ROUTE}/{key}"
