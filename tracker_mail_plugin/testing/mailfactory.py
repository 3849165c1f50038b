"""Small helpers that write raw test messages byte by byte (no email library in between)."""

from __future__ import annotations


def raw_mail(
    headers: dict[str, str] | list[tuple[str, str]], body: bytes | str = b"Hello\n"
) -> bytes:
    """A raw message: the given headers (defaults for From/To/Subject added), then the body."""
    items = list(headers.items()) if isinstance(headers, dict) else list(headers)
    names = {name.lower() for name, _ in items}
    defaults = [
        ("From", "Alice Example <alice@example.com>"),
        ("To", "support@example.com"),
        ("Subject", "Test"),
        ("Message-ID", "<test-1@example.com>"),
        ("Date", "Mon, 02 Nov 2026 10:00:00 +0000"),
    ]
    items = [(n, v) for n, v in defaults if n.lower() not in names] + items
    head = "".join(f"{name}: {value}\r\n" for name, value in items).encode("utf-8")
    data = body.encode("utf-8") if isinstance(body, str) else body
    return head + b"\r\n" + data


def multipart(subtype: str, parts: list[bytes], boundary: str = "BOUNDARY") -> tuple[str, bytes]:
    """A Content-Type value and a body joining ``parts`` (each: part headers, blank line, body)."""
    chunks = b"".join(b"--" + boundary.encode() + b"\r\n" + part + b"\r\n" for part in parts)
    body = b"preamble\r\n" + chunks + b"--" + boundary.encode() + b"--\r\n"
    return f'multipart/{subtype}; boundary="{boundary}"', body


def part(headers: str, body: bytes | str) -> bytes:
    """One body part: header lines (LF or CRLF), a blank line, the body."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    return headers.strip("\n").replace("\n", "\r\n").encode("utf-8") + b"\r\n\r\n" + data
