"""Find tracker adapters by entry point, import only the ones a configuration names.

Adapters are separate distributions that declare, in their ``pyproject.toml``::

    [project.entry-points."tracker_mail_plugin.adapters"]
    redmine = "tracker_mail_plugin_redmine:RedmineAdapter"

The entry-point name is the name users write as ``adapter:``. Importing is deferred until a
configuration asks for an adapter, so one broken plugin never breaks a run that does not use
it; ``tracker-mail adapters`` imports all of them and shows each one's error instead.
"""

from __future__ import annotations

import difflib
import inspect
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points

from pydantic import BaseModel

from tracker_mail_plugin.adapter import Capability, TrackerAdapter
from tracker_mail_plugin.errors import ConfigurationError, TrackerMailError

ENTRY_POINT_GROUP = "tracker_mail_plugin.adapters"

# Adapters registered in code (tests, embedding applications); they shadow entry points.
_registered: dict[str, type[TrackerAdapter]] = {}


@dataclass(frozen=True, slots=True)
class AdapterInfo:
    """One installed adapter as ``tracker-mail adapters`` shows it."""

    name: str
    distribution: str | None
    version: str | None
    error: str | None = None


def installed_names() -> list[str]:
    """The names of every installed and registered adapter, without importing any."""
    names = {point.name for point in entry_points(group=ENTRY_POINT_GROUP)}
    return sorted(names | set(_registered))


# The adapters of tracker-mail's own repository, each a package of its own (adapters/NAME):
# a user who writes `adapter: redmine` before installing it is told the command, not
# offered the closest name that happens to be installed.
BUNDLED_ADAPTERS = ("redmine", "jira", "github")


def not_installed(name: str) -> str:
    """Why ``name`` cannot be loaded, with the installed or bundled adapter closest to it.

    Never a package name made from what was typed: anyone could publish
    ``tracker-mail-plugin-<typo>``, and pip would install it. The install command is given
    only for the bundled adapters, whose folders are fixed.
    """
    installed = installed_names()
    listed = ", ".join(installed) if installed else "none"
    known = sorted(set(installed) | set(BUNDLED_ADAPTERS))
    close = difflib.get_close_matches(name.lower(), known, n=1, cutoff=0.6)
    meant = name.lower() if name.lower() in BUNDLED_ADAPTERS else (close[0] if close else None)
    if meant in BUNDLED_ADAPTERS and meant not in installed:
        guess = "" if meant == name else f"; did you mean '{meant}'?"
        return (
            f"no tracker adapter named {name!r} is installed{guess} (installed: {listed}); "
            f"the {meant} adapter is a package of its own: install it from a checkout of "
            f"tracker-mail with `pip install ./adapters/{meant}` (or its wheel), "
            "in the environment tracker-mail runs in"
        )
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return (
        f"no tracker adapter named {name!r} is installed{hint} (installed: {listed}); "
        "`tracker-mail adapters` lists them, and the adapters' READMEs say how to install one"
    )


def load_adapter(name: str) -> type[TrackerAdapter]:
    """Import and validate the adapter called ``name``.

    Raises:
        ConfigurationError: not installed (the message gives the install command), failed to
            import, or not a valid adapter; every problem found, each naming the plugin.
    """
    if name in _registered:
        return _registered[name]
    found = _entry_points(name)
    if not found:
        raise ConfigurationError(not_installed(name))
    if len(found) > 1:
        sources = ", ".join(sorted(_origin(point) for point in found))
        raise ConfigurationError(f"adapter {name!r} is provided twice ({sources}); uninstall one")
    return _load(found[0])


def origin(name: str) -> str | None:
    """``distribution version`` of the installed adapter ``name`` (None: registered in code)."""
    if name in _registered:
        return None
    found = _entry_points(name)
    return _origin(found[0]) if len(found) == 1 else None


def untranslated(exc: BaseException, adapter: TrackerAdapter) -> str | None:
    """Words blaming ``adapter`` when ``exc``, outside the error tree, came through its code.

    An adapter translates every failure into the core's errors at its boundary; anything
    else that passed through a method of its class is a bug in that adapter, and its
    authors, not tracker-mail's, are the ones to tell. ``None``: not the adapter's doing.
    """
    if isinstance(exc, TrackerMailError):
        return None
    modules = {
        cls.__module__
        for cls in type(adapter).__mro__
        if issubclass(cls, TrackerAdapter) and cls is not TrackerAdapter
    }
    frames = traceback.walk_tb(exc.__traceback__)
    if not any(frame.f_globals.get("__name__") in modules for frame, _ in frames):
        return None
    made_by = origin(adapter.name)
    return (
        f"the {adapter.name} adapter{f' ({made_by})' if made_by else ''} failed with "
        f"{type(exc).__name__}, which is not one of tracker-mail's errors: a bug in the "
        "adapter; report it to its authors with the traceback"
    )


def list_adapters() -> list[AdapterInfo]:
    """Every installed and registered adapter, imported, with its load error if any."""
    infos = [
        AdapterInfo(name, None, None, _first_problem(name, cls))
        for name, cls in _registered.items()
    ]
    for point in entry_points(group=ENTRY_POINT_GROUP):
        if point.name not in _registered:
            infos.append(_info(point))
    return sorted(infos, key=lambda info: (info.name, info.distribution or ""))


def register_adapter(name: str, cls: type[TrackerAdapter]) -> None:
    """Make ``cls`` loadable as ``name`` without an entry point (tests, embedding).

    Raises:
        ConfigurationError: ``cls`` is not a valid adapter called ``name``.
    """
    problems = adapter_class_problems(name, cls)
    if problems:
        raise ConfigurationError(problems)
    _registered[name] = cls


def unregister_adapter(name: str) -> None:
    """Forget an adapter given to :func:`register_adapter` (no error if there is none)."""
    _registered.pop(name, None)


@contextmanager
def registered_adapter(name: str, cls: type[TrackerAdapter]) -> Iterator[type[TrackerAdapter]]:
    """Register ``cls`` as ``name`` for the duration of a ``with`` block."""
    previous = _registered.get(name)
    register_adapter(name, cls)
    try:
        yield cls
    finally:
        if previous is None:
            unregister_adapter(name)
        else:
            _registered[name] = previous


def adapter_class_problems(name: str, loaded: object) -> list[str]:
    """Everything that makes ``loaded`` unusable as the adapter called ``name``."""
    where = f"adapter {name!r}"
    if not (inspect.isclass(loaded) and issubclass(loaded, TrackerAdapter)):
        return [f"{where}: {loaded!r} is not a TrackerAdapter subclass"]
    problems = []
    if getattr(loaded, "name", None) != name:
        problems.append(
            f"{where}: class {loaded.__qualname__} declares name "
            f"{getattr(loaded, 'name', None)!r}; it must equal the entry-point name"
        )
    model = getattr(loaded, "config_model", None)
    if not (inspect.isclass(model) and issubclass(model, BaseModel)):
        problems.append(f"{where}: config_model must be a pydantic model class, not {model!r}")
    capabilities = getattr(loaded, "capabilities", None)
    if not isinstance(capabilities, frozenset) or not all(
        isinstance(item, Capability) for item in capabilities
    ):
        problems.append(f"{where}: capabilities must be a frozenset of Capability")
    if inspect.isabstract(loaded):
        missing = ", ".join(sorted(getattr(loaded, "__abstractmethods__", ())))
        problems.append(f"{where}: methods not implemented: {missing}")
    return problems


def _entry_points(name: str) -> list[EntryPoint]:
    return list(entry_points(group=ENTRY_POINT_GROUP, name=name))


def _load(point: EntryPoint) -> type[TrackerAdapter]:
    where = f"adapter {point.name!r} ({_origin(point)})"
    try:
        loaded = point.load()
    except Exception as exc:  # a plugin can fail to import in any way
        raise ConfigurationError(f"{where} failed to import: {type(exc).__name__}: {exc}") from exc
    problems = adapter_class_problems(point.name, loaded)
    if problems:
        raise ConfigurationError(f"{problem} [{_origin(point)}]" for problem in problems)
    cls: type[TrackerAdapter] = loaded
    return cls


def _info(point: EntryPoint) -> AdapterInfo:
    dist = point.dist
    distribution = dist.metadata["Name"] if dist is not None else None
    version = dist.version if dist is not None else None
    try:
        _load(point)
    except ConfigurationError as exc:
        return AdapterInfo(point.name, distribution, version, str(exc))
    return AdapterInfo(point.name, distribution, version)


def _first_problem(name: str, cls: type[TrackerAdapter]) -> str | None:
    problems = adapter_class_problems(name, cls)
    return "; ".join(problems) if problems else None


def _origin(point: EntryPoint) -> str:
    dist = point.dist
    if dist is None:
        return point.value
    return f"{dist.metadata['Name']} {dist.version}"
