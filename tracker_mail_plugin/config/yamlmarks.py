"""Read YAML into plain data while remembering where every key and value was written.

PyYAML's safe loader forgets positions once it builds Python objects; we compose the node
tree ourselves so that any later error (pydantic's, the rule language's, a cross-reference
check's) can name the file, line and column a person has to fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from tracker_mail_plugin.config.yamlhints import describe

Path = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Mark:
    """A 1-based position in the file, and for scalars how they were quoted."""

    line: int
    column: int
    quoted: bool = False


@dataclass
class Marks:
    """Positions of keys and values by their path in the data (``("mailboxes", "x", "host")``)."""

    keys: dict[Path, Mark] = field(default_factory=dict)
    values: dict[Path, Mark] = field(default_factory=dict)
    duplicates: list[tuple[Path, Mark]] = field(default_factory=list)

    def nearest(self, path: Path, prefer_key: bool = False) -> tuple[Path, Mark]:
        """The mark of ``path`` or of its closest recorded ancestor."""
        for size in range(len(path), -1, -1):
            prefix = path[:size]
            first, second = (self.keys, self.values) if prefer_key else (self.values, self.keys)
            if prefix in first:
                return prefix, first[prefix]
            if prefix in second:
                return prefix, second[prefix]
        return (), Mark(1, 1)


class YamlSyntaxError(ValueError):
    """The file is not valid YAML; carries the position PyYAML reported."""

    def __init__(self, message: str, mark: Mark):
        super().__init__(message)
        self.message = message
        self.mark = mark


def load_with_marks(text: str) -> tuple[Any, Marks]:
    """Parse YAML text into plain data and the marks of everything in it."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        marks = Marks()
        data = _build(loader, node, (), marks) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        where, message = describe(exc, text)
        raise YamlSyntaxError(message, Mark(where.line, where.column)) from None
    finally:
        loader.dispose()
    return data, marks


def _mark(node: yaml.Node) -> Mark:
    quoted = isinstance(node, yaml.ScalarNode) and node.style in ("'", '"')
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1, quoted)


def _build(loader: yaml.SafeLoader, node: yaml.Node, path: Path, marks: Marks) -> Any:
    marks.values[path] = _mark(node)
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # resolves `<<: *anchor` merge keys
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            key = key if isinstance(key, (str, int)) else str(key)
            child = (*path, key)
            if key in result:
                marks.duplicates.append((child, _mark(key_node)))
            marks.keys[child] = _mark(key_node)
            result[key] = _build(loader, value_node, child, marks)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _build(loader, item, (*path, index), marks) for index, item in enumerate(node.value)
        ]
    return loader.construct_object(node, deep=True)
