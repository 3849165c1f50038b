"""Field-by-field fingerprints of parsed messages, to prove a parser change kept its output.

    python benchmarks/parse_fingerprint.py write BEFORE.json [--corpus DIR] [--messages N]
    python benchmarks/parse_fingerprint.py compare BEFORE.json [--corpus DIR] [--messages N]

Parses every ``.eml`` under ``examples/``, every message under ``tests/corpora/``, the
hostile shapes of ``tests/hostile.py`` at a few sizes, HTML variants, and (with ``--corpus``)
the first ``N`` messages of ``benchmarks/parse.py``'s generated corpus. For each message it
records a sha256 of every ``Message`` field. ``write`` saves them (run it with the old code, e.g.
``PYTHONPATH=/path/to/old/checkout``); ``compare`` parses again and names every field that
differs. Exit status 1 when anything differs.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import importlib.util
import json
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The parser fingerprinted is the one PYTHONPATH names (the old checkout), else this one's;
# putting this checkout first whatever PYTHONPATH says made "before" the current code.
if not os.environ.get("PYTHONPATH"):
    sys.path.insert(0, str(ROOT))

HTML_VARIANTS = (
    b"<p>a <span style='display:none'>secret</span> b</p><p>c<span hidden>x</span>  d</p>",
    b"<div>one<div style='mso-hide:all'>gone</div> tail <b> bold </b><i></i></div>",
    b"<ul><li>a<ul><li>b</li><li>c<br>d</li></ul></li><li>e</li></ul><ol><li>x</li></ol>",
    b"<table><tr><td><p>a</p><p>b</p></td></tr></table><table><tr><th>h|</th></tr>"
    b"<tr><td>1</td><td>2</td></tr></table>",
    b"<blockquote>q<blockquote>qq</blockquote></blockquote><pre>  a\n   b</pre><hr>",
    b"<a href='javascript:x'>js</a> <a href='mailto:a@b.c'>a@b.c</a> <a href='x y'>l</a>"
    b"<img src='cid:img1@x'><img alt='alt'><img src='https://e.com/p/i.png?x=1'><h2>t</h2>",
    b"<o:p>x</o:p><li>loose</li><!-- c --><script>s</script><style>y</style>tail",
    b"<table><tr><td>a<table><tr><td>in</td></tr></table></td><td>b</td></tr></table>",
    b"<table><caption><p>c1</p><p>c2</p></caption><tr><td><p>x</p></td><td>y</td></tr></table>",
    b"<table><tr><td><div>x</div><div>y</div></td></tr><tr><th>h</th><td>z</td></tr></table>",
    b"<p STYLE = 'color:red'>red</p><p Style='DISPLAY: NONE'>gone</p><P HIDDEN>h</P>t",
    b"<div>" * 70 + b"deep <b>b</b><!--c--><script>s</script>" + b"</div>" * 70 + b"after",
)


def _hostile_kinds() -> dict[str, Callable[[int], bytes]]:
    """This checkout's ``tests/hostile.py`` shapes, whichever parser is fingerprinted."""
    path = ROOT / "tests" / "hostile.py"
    spec = importlib.util.spec_from_file_location("hostile_shapes", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    kinds: dict[str, Callable[[int], bytes]] = module.KINDS
    return kinds


def messages(corpus: Path | None, count: int) -> Iterator[tuple[str, bytes]]:
    """Every (name, raw bytes) to fingerprint."""
    for path in sorted((ROOT / "examples").rglob("*.eml")):
        yield str(path.relative_to(ROOT)), path.read_bytes()
    # Other projects' test mail keeps its upstream names (msg_01.txt, m0013, *.raw).
    for path in sorted((ROOT / "tests" / "corpora").rglob("*")):
        if path.is_file() and path.suffix not in (".md", ".tsv"):
            yield str(path.relative_to(ROOT)), path.read_bytes()
    for kind, make in _hostile_kinds().items():
        for size in (100, 5_000, 40_000):
            yield f"hostile/{kind}/{size}", make(size)
    head = b"From: a@example.com\r\nSubject: html\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
    for index, html in enumerate(HTML_VARIANTS):
        yield f"html/{index}", head + html
    if corpus is not None:
        for path in sorted(corpus.glob("*.eml"))[:count]:
            yield f"corpus/{path.name}", path.read_bytes()


def fingerprint(raw: bytes) -> dict[str, str]:
    """sha256 of each field's repr (attachments with their content)."""
    from tracker_mail_plugin.mail import parse_message

    message = parse_message(raw)
    fields = {}
    for field in dataclasses.fields(message):
        value = getattr(message, field.name)
        if field.name == "attachments":
            value = [(repr(item), item.content) for item in value]
        fields[field.name] = hashlib.sha256(repr(value).encode()).hexdigest()[:16]
    return fields


def main() -> int:
    """Write or compare fingerprints."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("write", "compare"))
    parser.add_argument("file", type=Path)
    parser.add_argument("--corpus", type=Path, help="benchmarks/parse.py corpus folder")
    parser.add_argument("--messages", type=int, default=4000)
    args = parser.parse_args()
    import tracker_mail_plugin

    print(f"parsing with {Path(tracker_mail_plugin.__file__).parent}", file=sys.stderr)
    found = {name: fingerprint(raw) for name, raw in messages(args.corpus, args.messages)}
    if args.mode == "write":
        args.file.write_text(json.dumps(found, indent=0, sort_keys=True))
        print(f"{len(found)} messages fingerprinted")
        return 0
    before = json.loads(args.file.read_text())
    differences = 0
    for name in sorted(set(before) | set(found)):
        old, new = before.get(name, {}), found.get(name, {})
        changed = sorted(key for key in set(old) | set(new) if old.get(key) != new.get(key))
        if changed:
            differences += 1
            print(f"{name}: {', '.join(changed)} differ")
    print(f"{len(found)} messages compared, {differences} differ")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
