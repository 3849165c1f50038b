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

    @property
    def refresh_path(self) -> Path:
        """Where a refresh token the server rotated is kept (not dropped with the access token)."""
        return self.path.with_name(self.path.name.replace("oauth2-token-", "oauth2-refresh-"))

    def load_refresh(self, configured: str) -> str:
        """The newest refresh token: the rotated one, unless the configured one changed.

        The rotated token remembers a digest of the configured one it replaced: a person
        who puts a new refresh token in the configuration (after a revocation) means that
        one, not an older rotation of the previous one.
        """
        try:
            data = json.loads(self.refresh_path.read_text(encoding="utf-8"))
            if data["replaces"] == _digest(configured):
                return str(data["refresh_token"])
        except (OSError, ValueError, KeyError, TypeError):
            pass  # none kept, or unreadable: the configured token is all there is
        return configured

    def store_refresh(self, rotated: str, configured: str) -> None:
        """Keep the refresh token the server issued in place of the one just used."""
        data = {"refresh_token": rotated, "replaces": _digest(configured)}
        write_private(self.refresh_path, json.dumps(data))

    def store(self, token: CachedToken) -> None:
        """Replace the cached token (0600 from creation, atomic rename)."""
        data = {"access_token": token.access_token, "expires_at": token.expires_at}
        write_private(self.path, json.dumps(data))

    def forget(self) -> None:
        """Delete the cached token (the server refused it)."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def write_private(path: Path, text: str) -> None:
    """Replace ``path`` with ``text``: 0600 from creation, atomic rename, folder 0700."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    # A leftover of a run killed midway is removed, and the file is made anew: opening an
    # existing name would write the token wherever a symlink there points.
    with contextlib.suppress(FileNotFoundError):
        temporary.unlink()
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
