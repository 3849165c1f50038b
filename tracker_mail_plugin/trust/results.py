"""Read an ``Authentication-Results`` header (RFC 8601) without trusting its text.

The header arrives with the mail, so its text is the attacker's until we know which server
wrote it. The reader is a single left-to-right scan (no regular expressions, nothing that
backtracks), and a header longer than :data:`MAX_HEADER_CHARS` is not read at all: a real
server's header is a few hundred characters, and a truncated one could say the wrong thing.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_HEADER_CHARS = 16 * 1024
_MAX_RESULTS = 64  # method results kept from one header; a real one has a handful
_SPACE = " \t\r\n"


@dataclass(frozen=True, slots=True)
class MethodResult:
    """One ``method=result`` with its properties, e.g. ``dkim=pass header.d=example.com``.

    Attributes:
        method: the method name, lower-cased (``dkim``, ``spf``, ``dmarc``, ...).
        result: the result, lower-cased (``pass``, ``fail``, ``none``, ...).
        properties: ``ptype.property`` (lower-cased) -> value, e.g. ``header.d``.
    """

    method: str
    result: str
    properties: tuple[tuple[str, str], ...] = ()

    def get(self, name: str) -> str | None:
        """The value of property ``name`` (``header.d``), or None."""
        for key, value in self.properties:
            if key == name:
                return value
        return None

    def __str__(self) -> str:
        props = " ".join(f"{k}={v}" for k, v in self.properties)
        return f"{self.method}={self.result}" + (f" {props}" if props else "")


@dataclass(frozen=True, slots=True)
class AuthResults:
    """One header: the server that wrote it and the results it states.

    Attributes:
        authserv_id: the id of the server that wrote the header, lower-cased.
        results: its method results, in order.
        oversized: the header was longer than :data:`MAX_HEADER_CHARS`; nothing was read.
    """

    authserv_id: str
    results: tuple[MethodResult, ...] = ()
    oversized: bool = False


def parse_authentication_results(value: str) -> AuthResults | None:
    """Read one header value; None when it does not even name a server.

    Args:
        value: the header's value (folded or unfolded).

    Returns:
        The server id and results. Results the reader cannot make sense of are left out,
        never guessed.
    """
    if len(value) > MAX_HEADER_CHARS:
        # Still say whose it claims to be, so an oversized header of a trusted server
        # is known as such (and fails closed) instead of being passed over.
        head = _split(value[:256])
        words = _words(head[0]) if head else []
        name = words[0][0] if words and words[0][1] is None else ""
        return AuthResults(name.lower(), (), oversized=True) if name else None
    segments = _split(value)
    if not segments:
        return None
    words = _words(segments[0])
    if not words or words[0][1] is not None:
        return None
    results: list[MethodResult] = []
    for segment in segments[1 : _MAX_RESULTS + 1]:
        found = _result(_words(segment))
        if found is not None:
            results.append(found)
    return AuthResults(words[0][0].lower(), tuple(results))


def _split(value: str) -> list[str]:
    """The text between top-level semicolons, with comments removed; one pass."""
    segments: list[str] = []
    current: list[str] = []
    depth = 0  # inside how many nested comments
    quoted = False
    escaped = False
    for char in value:
        if escaped:
            escaped = False
            if depth == 0:
                current.append(char)
            continue
        if char == "\\" and (quoted or depth):
            escaped = True
            if depth == 0:
                current.append(char)
            continue
        if quoted:
            quoted = char != '"'
            current.append(char)
        elif char == "(":
            depth += 1
        elif depth:
            if char == ")":
                depth -= 1
        elif char == '"':
            quoted = True
            current.append(char)
        elif char == ";":
            segments.append("".join(current))
            current = []
        else:
            current.append(char)
    segments.append("".join(current))
    return segments


def _words(segment: str) -> list[tuple[str, str | None]]:
    """``key=value`` pairs and bare words, in order; spaces around ``=`` are allowed."""
    out: list[tuple[str, str | None]] = []
    pos, end = 0, len(segment)
    while True:
        pos = _skip_space(segment, pos)
        if pos >= end:
            return out
        start = pos
        while pos < end and segment[pos] not in _SPACE and segment[pos] != "=":
            pos += 1
        key = segment[start:pos]
        after = _skip_space(segment, pos)
        if after < end and segment[after] == "=":
            value, pos = _value(segment, _skip_space(segment, after + 1))
            out.append((key, value))
        elif key:
            out.append((key, None))
        else:  # a lone "=": step over it
            pos += 1


def _value(segment: str, pos: int) -> tuple[str, int]:
    """A quoted string or a run of non-space characters (base64 may hold ``=`` and ``/``)."""
    end = len(segment)
    if pos < end and segment[pos] == '"':
        out: list[str] = []
        pos += 1
        while pos < end and segment[pos] != '"':
            if segment[pos] == "\\" and pos + 1 < end:
                pos += 1
            out.append(segment[pos])
            pos += 1
        return "".join(out), pos + 1
    start = pos
    while pos < end and segment[pos] not in _SPACE:
        pos += 1
    return segment[start:pos], pos


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _SPACE:
        pos += 1
    return pos


def _result(words: list[tuple[str, str | None]]) -> MethodResult | None:
    """``method[/version]=result [reason=...] [ptype.property=value ...]``."""
    if not words or words[0][1] is None:
        return None
    method = words[0][0].partition("/")[0].lower()
    result = words[0][1].lower()
    properties = tuple(
        (key.lower(), value)
        for key, value in words[1:]
        if value is not None and "." in key and key.lower() != "reason"
    )
    return MethodResult(method, result, properties) if method and result else None
