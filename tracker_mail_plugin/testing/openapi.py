"""Hold a faked tracker's traffic to the vendor's own OpenAPI description.

An adapter tested only against fakes its authors wrote is proven against what they believed
the tracker does. :class:`ApiDescription` checks each request an adapter sent (method, path,
query, JSON body) and each canned answer (status, JSON body) against the matching operation
of the vendor's published description, so a fake that drifts from the vendor fails a test::

    jira = ApiDescription.load("jira-platform-v3.json.gz", "Jira Cloud platform",
                               aliases={"/rest/api/2/": "/rest/api/3/"})
    problems = jira.problems(Exchange.of(call.request, call.response, root=""))

Why jsonschema (through openapi-schema-validator's OpenAPI 3.0 dialect, for ``nullable``
and ``readOnly``) over the operation's schemas, not openapi-core: openapi-core validates the
whole document first, which refuses Jira's (its own defaults break its enums) and takes
seconds on GitHub's; it also matches servers and security schemes a fake cannot share.
Here the document is parsed once per process (:meth:`ApiDescription.load` caches it), paths
are matched by their templates, and each schema is checked where the exchange needs it.

What is not checked, on purpose: ``format`` (Jira's own examples carry ``+0000`` offsets its
``date-time`` format forbids), multipart bodies (the descriptions name only the media type),
and the bodies of error answers the operation does not describe (rate limits and server
errors are documented in prose for every route).

Needs ``pip install tracker-mail-plugin[openapi]``; the libraries are imported on first use.
"""

from __future__ import annotations

import functools
import gzip
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
ABSENT: Any = object()  # no body at all, as opposed to a JSON ``null``
NOT_JSON: Any = object()  # a body that does not parse as JSON


class SpecDrift(AssertionError):
    """Traffic the vendor's description forbids: the fake or the adapter drifted."""


@dataclass(frozen=True)
class Exchange:
    """One request and its answer, as the description sees them.

    Attributes:
        method: the HTTP method, upper case.
        path: the path as sent (still percent-encoded), relative to the API root.
        query: the query parameters, in order, repeated names kept.
        body: the request's JSON, :data:`ABSENT`, or :data:`NOT_JSON` (e.g. multipart).
        content_type: the request's media type, without parameters.
        status: the answer's status; ``None`` when the request raised instead.
        answer: the answer's JSON, :data:`ABSENT` or :data:`NOT_JSON`.
        host: the server's name (and port), to tell deployments apart.
        headers: the request's headers, names in lower case (for checks the vendor
            documents in prose only; the descriptions leave headers out).
    """

    method: str
    path: str
    query: Sequence[tuple[str, str]] = ()
    body: Any = ABSENT
    content_type: str = ""
    status: int | None = None
    answer: Any = ABSENT
    host: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def line(self) -> str:
        """``METHOD /path``, how problems name the exchange."""
        return f"{self.method} {self.path}"

    @classmethod
    def of(cls, request: Any, response: Any, *, root: str = "") -> Exchange:
        """An exchange from a ``requests`` prepared request and its response (or ``None``).

        ``root`` is the API's base path on the server (``/api/v3`` on GitHub Enterprise),
        cut from the path before matching.
        """
        url = urlsplit(str(request.url))
        path = url.path[len(root) :] if root and url.path.startswith(root) else url.path
        content_type = str(request.headers.get("Content-Type", "")).split(";")[0].strip()
        body = _json(request.body, content_type) if request.body is not None else ABSENT
        status = answer = None
        if response is not None and hasattr(response, "status_code"):
            status = int(response.status_code)
            answer_type = str(response.headers.get("Content-Type", "")).split(";")[0]
            answer = _json(response.content, answer_type.strip()) if response.content else ABSENT
        return cls(
            method=str(request.method).upper(),
            path=path,
            query=parse_qsl(url.query, keep_blank_values=True),
            body=body,
            content_type=content_type,
            status=status,
            answer=ABSENT if answer is None else answer,
            host=url.netloc,
            headers={str(k).lower(): str(v) for k, v in request.headers.items()},
        )


def _json(raw: Any, content_type: str) -> Any:
    if isinstance(raw, bytes | str) and raw in (b"", ""):
        return ABSENT
    if "json" not in content_type or not isinstance(raw, bytes | str):
        return NOT_JSON
    try:
        return json.loads(raw)
    except ValueError:
        return NOT_JSON


@dataclass(frozen=True)
class Operation:
    """One operation of the description, found for an exchange."""

    template: str
    method: str
    pointer: str  # JSON pointer of the operation object in the document
    spec: Mapping[str, Any] = field(repr=False)
    params: Mapping[str, str] = field(default_factory=dict)  # path parameters, decoded


@dataclass(frozen=True)
class _Template:
    template: str
    pattern: re.Pattern[str]
    literals: int  # more literal segments win: /issue/createmeta before /issue/{key}


class ApiDescription:
    """A vendor's OpenAPI 3.0 description, indexed by path template.

    Args:
        document: the parsed description.
        name: how problems name it ("the Jira Cloud platform description").
        aliases: path prefixes the description spells differently, e.g. Jira's
            ``{"/rest/api/2/": "/rest/api/3/"}`` (its v2 paths are the v3 paths).
    """

    def __init__(
        self, document: Mapping[str, Any], name: str, *, aliases: Mapping[str, str] | None = None
    ):
        self.document = document
        self.name = name
        self.aliases = dict(aliases or {})
        self._templates: dict[int, list[_Template]] = {}
        self._tails: list[_Template] = []
        for template in document.get("paths", {}):
            segments = template.strip("/").split("/")
            names = [s[1:-1] for s in segments if s.startswith("{")]
            regex = "/".join(
                f"(?P<p{names.index(s[1:-1])}>[^/]+)" if s.startswith("{") else re.escape(s)
                for s in segments
            )
            literals = sum(not s.startswith("{") for s in segments)
            found = _Template(template, re.compile(f"/{regex}"), literals)
            self._templates.setdefault(len(segments), []).append(found)
            if self._multi_segment(template, segments[-1][1:-1]):
                # GitHub marks parameters that hold slashes (contents/{path}) with
                # x-multi-segment; tried only when no template matches segment for segment.
                tail = re.compile(f"/{regex.removesuffix('[^/]+)')}.+)")
                self._tails.append(_Template(template, tail, literals))
        for candidates in [*self._templates.values(), self._tails]:
            candidates.sort(key=lambda t: -t.literals)
        self._validators: dict[tuple[str, bool], Any] = {}

    def _multi_segment(self, template: str, name: str) -> bool:
        item = self.document["paths"][template]
        operations = [item, *(item[m] for m in METHODS if m in item)]
        for parameter in (p for op in operations for p in op.get("parameters", [])):
            found = self._resolve(parameter["$ref"]) if "$ref" in parameter else parameter
            if found.get("name") == name and found.get("x-multi-segment") is True:
                return True
        return False

    @classmethod
    def load(
        cls, path: str | Path, name: str, *, aliases: Mapping[str, str] | None = None
    ) -> ApiDescription:
        """The description in ``path`` (``.gz`` is read compressed), parsed once per process."""
        return _load(str(path), name, tuple(sorted((aliases or {}).items())))

    def operation(self, method: str, path: str) -> Operation:
        """The operation answering ``method path`` (a path as sent, relative to the root).

        Raises:
            SpecDrift: the description has no such path, or not for this method.
        """
        wanted = path
        for mine, theirs in self.aliases.items():
            if wanted.startswith(mine):
                wanted = theirs + wanted[len(mine) :]
                break
        segments = wanted.strip("/").split("/")
        for candidate in [*self._templates.get(len(segments), []), *self._tails]:
            matched = candidate.pattern.fullmatch(wanted)
            if matched is None:
                continue
            item = self.document["paths"][candidate.template]
            if method.lower() not in item:
                continue
            names = re.findall(r"{([^}]+)}", candidate.template)
            params = {names[int(k[1:])]: unquote(v) for k, v in matched.groupdict().items()}
            return Operation(
                template=candidate.template,
                method=method.lower(),
                pointer=f"/paths/{_escape(candidate.template)}/{method.lower()}",
                spec=item[method.lower()],
                params=params,
            )
        raise SpecDrift(f"{method.upper()} {path} is not in the {self.name}")

    def problems(
        self, exchange: Exchange, *, answer: bool = True, deprecated: bool = False
    ) -> list[str]:
        """What in ``exchange`` the description forbids.

        Args:
            exchange: the request and its answer.
            answer: also check the answer (``False``: a deployment the description does not
                describe answers, e.g. Jira Data Center, whose requests the Cloud one does).
            deprecated: accept deprecated operations and parameters (a deprecation may be
                the description's deployment's alone); by default they are problems, as the
                vendor announced their removal.
        """
        try:
            operation = self.operation(exchange.method, exchange.path)
        except SpecDrift as exc:
            return [str(exc)]
        found = self._request_problems(operation, exchange, deprecated)
        if answer and exchange.status is not None:
            found += self._answer_problems(operation, exchange)
        return [f"{exchange.line}: {problem}" for problem in found]

    def check(self, exchanges: Iterable[Exchange]) -> None:
        """Raise one :class:`SpecDrift` naming every problem of ``exchanges``."""
        found = [problem for exchange in exchanges for problem in self.problems(exchange)]
        if found:
            raise SpecDrift(f"against the {self.name}:\n" + "\n".join(found))

    def parameter(self, operation: Operation, place: str, name: str) -> Mapping[str, Any] | None:
        """The description of ``operation``'s parameter ``name`` in ``place`` (e.g. ``query``)."""
        found = (p for p, _ in self._parameters(operation) if (p["in"], p["name"]) == (place, name))
        return next(found, None)

    def _parameters(self, operation: Operation) -> list[tuple[Mapping[str, Any], str]]:
        """The operation's parameters (path-level ones included), with their pointers."""
        listed: dict[tuple[str, str], tuple[Mapping[str, Any], str]] = {}
        item_pointer = operation.pointer.rsplit("/", 1)[0]
        item = self.document["paths"][operation.template]
        for pointer, owner in ((item_pointer, item), (operation.pointer, operation.spec)):
            for index, parameter in enumerate(owner.get("parameters", [])):
                where = f"{pointer}/parameters/{index}"
                if "$ref" in parameter:
                    where = parameter["$ref"][1:]
                    parameter = self._resolve(parameter["$ref"])
                listed[(parameter["in"], parameter["name"])] = (parameter, where)
        return list(listed.values())

    def _request_problems(
        self, operation: Operation, exchange: Exchange, deprecated: bool
    ) -> list[str]:
        found: list[str] = []
        if operation.spec.get("deprecated") and not deprecated:
            found.append(f"{operation.method.upper()} {operation.template} is deprecated")
        query: dict[str, list[str]] = {}
        for name, value in exchange.query:
            query.setdefault(name, []).append(value)
        declared = set()
        for parameter, where in self._parameters(operation):
            place, name = parameter["in"], parameter["name"]
            if place == "path":
                values = [operation.params[name]] if name in operation.params else []
            elif place == "query":
                declared.add(name)
                values = query.get(name, [])
            else:
                continue  # headers and cookies: the descriptions leave them to prose
            if values and parameter.get("deprecated") and not deprecated:
                found.append(f"the {place} parameter {name!r} is deprecated")
            if not values:
                if parameter.get("required"):
                    found.append(f"the required {place} parameter {name!r} is missing")
                continue
            schema = parameter.get("schema", {})
            value = _coerce(values, self._resolve_shallow(schema))
            found += self._schema_problems(f"{where}/schema", value, f"{place} {name!r}")
        found += [
            f"the query parameter {name!r} is not described" for name in query.keys() - declared
        ]
        body = operation.spec.get("requestBody")
        if body is not None and "$ref" in body:
            body = self._resolve(body["$ref"])
        if exchange.body is ABSENT:
            if body is not None and body.get("required"):
                found.append("the request has no body; the operation requires one")
            return found
        if body is None:
            found.append("the request has a body; the operation takes none")
            return found
        media = _media(body.get("content", {}), exchange.content_type)
        if media is None:
            types = ", ".join(body.get("content", {}))
            found.append(f"the request is {exchange.content_type or 'untyped'}; it takes {types}")
        elif exchange.body is not NOT_JSON and "schema" in body["content"][media]:
            where = f"{operation.pointer}/requestBody/content/{_escape(media)}/schema"
            if "$ref" in operation.spec["requestBody"]:
                where = (
                    f"{operation.spec['requestBody']['$ref'][1:]}/content/{_escape(media)}/schema"
                )
            found += self._schema_problems(where, exchange.body, "request body", write=True)
        return found

    def _answer_problems(self, operation: Operation, exchange: Exchange) -> list[str]:
        status = int(exchange.status or 0)
        answers = operation.spec.get("responses", {})
        for code in (str(status), f"{status // 100}XX", "default"):
            if code in answers:
                break
        else:
            if 200 <= status < 300:
                listed = ", ".join(c for c in answers if c.startswith("2"))
                return [f"answered {status}; the description answers {listed}"]
            return []  # undocumented errors (429, 5xx): the vendors describe them in prose
        response = answers[code]
        where = f"{operation.pointer}/responses/{code}"
        if "$ref" in response:
            where = response["$ref"][1:]
            response = self._resolve(response["$ref"])
        content = response.get("content", {})
        if exchange.answer is ABSENT or not content:
            return []
        media = next((m for m in content if "json" in m), None)
        if media is None or "schema" not in content[media]:
            return []
        if exchange.answer is NOT_JSON:
            return [f"answered {status} with a body that is not JSON; the description has JSON"]
        where = f"{where}/content/{_escape(media)}/schema"
        return self._schema_problems(where, exchange.answer, f"the {status} answer")

    def _schema_problems(
        self, pointer: str, value: Any, what: str, *, write: bool = False
    ) -> list[str]:
        validator = self._validator(pointer, write)
        errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
        if not errors:
            return []
        from jsonschema.exceptions import best_match

        error = best_match(errors)
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return [f"{what} at {error.json_path}: {_short(error.message)}{more}"]

    def _validator(self, pointer: str, write: bool) -> Any:
        cached = self._validators.get((pointer, write))
        if cached is None:
            cached = self._validators[(pointer, write)] = _validator_class(write)(
                {"$ref": f"{_URN}#{pointer}"}, registry=self._registry
            )
        return cached

    @functools.cached_property
    def _registry(self) -> Any:
        from referencing import Registry, Resource
        from referencing.jsonschema import DRAFT4

        resource = Resource.from_contents(self.document, default_specification=DRAFT4)
        return Registry().with_resource(_URN, resource)

    def _resolve(self, ref: str) -> Any:
        node: Any = self.document
        for part in ref.removeprefix("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    def _resolve_shallow(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        return self._resolve(schema["$ref"]) if "$ref" in schema else schema


_URN = "urn:tracker-mail:openapi"


@functools.cache
def _load(path: str, name: str, aliases: tuple[tuple[str, str], ...]) -> ApiDescription:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as stream:
        return ApiDescription(json.load(stream), name, aliases=dict(aliases))


@functools.cache
def _validator_class(write: bool) -> Any:
    """OpenAPI 3.0's dialect, but ``nullable: true`` also admits null past an ``enum``.

    GitHub marks e.g. ``state_reason`` ``nullable`` with an ``enum`` that lacks null and
    answers null for open issues; its intent is plain, the letter of 3.0.3 says otherwise.
    """
    from jsonschema import validators
    from openapi_schema_validator import OAS30ReadValidator, OAS30WriteValidator

    base: Any = OAS30WriteValidator if write else OAS30ReadValidator
    strict = base.VALIDATORS["enum"]

    def enum(validator: Any, enums: Any, instance: Any, schema: Mapping[str, Any]) -> Any:
        if instance is None and schema.get("nullable") is True:
            return
        yield from strict(validator, enums, instance, schema) or ()

    extend: Any = validators.extend  # untyped in the stubs
    return extend(base, {"enum": enum})


def _coerce(values: list[str], schema: Mapping[str, Any]) -> Any:
    """Query and path values are text; read them as the parameter's schema types them."""
    kind = schema.get("type")
    if kind == "array":
        items = [part for value in values for part in value.split(",")]
        return [_scalar(item, schema.get("items", {})) for item in items]
    return _scalar(values[-1], schema)


def _scalar(value: str, schema: Mapping[str, Any]) -> Any:
    kind = schema.get("type")
    try:
        if kind == "integer":
            return int(value)
        if kind == "number":
            return float(value)
    except ValueError:
        return value
    if kind == "boolean" and value in ("true", "false"):
        return value == "true"
    return value


def _media(content: Mapping[str, Any], sent: str) -> str | None:
    if sent in content:
        return sent
    if "json" in sent:
        return next((m for m in content if "json" in m), None)
    major = sent.split("/")[0]
    return next((m for m in content if m in ("*/*", f"{major}/*")), None)


def _escape(text: str) -> str:
    return text.replace("~", "~0").replace("/", "~1")


def _short(message: str, limit: int = 300) -> str:
    return message if len(message) <= limit else message[: limit - 1] + "…"


def exchanges(calls: Iterable[Any], *, root: str = "") -> list[Exchange]:
    """The exchanges of a ``responses`` mock's ``calls`` (request, then answer or exception)."""
    return [Exchange.of(call.request, call.response, root=root) for call in calls]
