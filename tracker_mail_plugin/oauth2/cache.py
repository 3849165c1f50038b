"""The token cache: one small JSON file per client, readable by its owner only.

It lives in the journal's folder (the state folder). The file is written to a temporary
name created 0600 and renamed into place, so it is never readable by others, not even for a
moment, and a run killed while writing leaves the old token rather than half a file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from tracker_mail_plugin.config.secrets import MASK


@dataclass(frozen=True)
class CachedToken:
    """An access token and when it expires (seconds since the epoch)."""

    access_token: str
    expires_at: float

    def __repr__(self) -> str:
        return f"CachedToken({MASK}, expires_at={self.expires_at})"


class TokenCache:
    """The cache file of one OAuth2 client (token URL, client id, scope, flow)."""

    def __init__(self, folder: Path, *parts: str):
        digest = hashlib.sha256("\n".join(parts).encode()).hexdigest()[:20]
        self.path = folder / f"oauth2-token-{digest}.json"

    def load(self) -> CachedToken | None:
        """The cached token, or None when there is none or the file is unreadable."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return CachedToken(str(data["access_token"]), float(data["expires_at"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None  # a broken cache only costs one token request

    @property
    def sign_in_path(self) -> Path:
        """The same client's msal token cache (a user's sign-in, ``flow: device_code``)."""
        return self.path.with_name(self.path.name.replace("oauth2-token-", "oauth2-msal-"))

    def store(self, token: CachedToken) -> None:
        """Replace the cached token (0600 from creation, atomic rename)."""
        data = {"access_token": token.access_token, "expires_at": token.expires_at}
        write_private(self.path, json.dumps(data))

    def forget(self) -> None:
        """Delete the cached token (the server refused it)."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text``: 0600 from creation, atomic rename, folder 0700."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # a leftover file of the same name keeps its old mode otherwise
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
