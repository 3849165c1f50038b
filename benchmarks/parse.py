"""Parse throughput and memory: tracker-mail's parser against Python's ``email`` package.

    python benchmarks/parse.py [--messages N] [--seed S] [--out DIR] [--repeat R] [--markdown]

A deterministic mixed corpus is generated once with the ``email`` package and cached as
``.eml`` files under ``DIR`` (default ``benchmarks/corpus/``, git-ignored). Every
measurement then runs in a fresh interpreter (this script re-invoked with ``--child``) that
streams the corpus one message at a time and times only the parse, so the two approaches
never share caches or heap and each reports its own peak RSS. See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import math
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from pathlib import Path

GENERATOR_VERSION = 1  # bump when the corpus generator changes: old caches are ignored
MIB = 1024 * 1024
BIG_ATTACHMENT = 25 * MIB

# --- corpus --------------------------------------------------------------------------------

_TEXT = (
    "the printer on the third floor stopped working again after the update yesterday and "
    "nobody can print invoices we tried restarting it but the error code is still shown "
    "please check the network settings and the driver version could you also look at the "
    "VPN client it disconnects every few minutes when I upload large files to the server "
    "the customer is waiting for an answer about the delivery date of order and the "
    "attached report shows the numbers for last quarter thanks in advance for your help"
)
WORDS = _TEXT.split()
ACCENTED = ("Grüße", "Müller", "café", "façade", "naïve", "Zürich", "Ærø", "déjà", "señor")
NAMES = (
    "Jane Doe", "John Smith", "Priya Natarajan", "Jürgen Müller", "José García",
    "Zoë Ångström", "Łukasz Kowalski", "Søren Kierkegård", "山田 太郎", "Chloé Dubois",
)  # fmt: skip
SUBJECTS = (
    "Printer on 3rd floor broken", "VPN disconnects every few minutes",
    "[Support - Bug #{n}] Invoice export fails", "ABC-{n} cannot log in",
    "Rückfrage zur Rechnung 2024-{n}", "Demande de devis n°{n}", "Order {n}: delivery date?",
    "Quarterly report", "Zugriff auf Laufwerk S: verweigert", "Ticket #{n} still open",
)  # fmt: skip
ATTACHMENT_TYPES = (
    ("application", "pdf", "report-{n}.pdf"),
    ("image", "png", "screenshot {n}.png"),
    ("application", "zip", "logs-{n}.zip"),
    ("image", "jpeg", "Foto_Übersicht_{n}.jpg"),
    ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet", "Zahlen {n}.xlsx"),
)
OUTLOOK_STYLE = """<style><!--
@font-face {font-family:"Cambria Math"; panose-1:2 4 5 3 5 4 6 3 2 4;}
@font-face {font-family:Calibri; panose-1:2 15 5 2 2 2 4 3 2 4;}
p.MsoNormal, li.MsoNormal, div.MsoNormal {margin:0cm; font-size:11.0pt;
  font-family:"Calibri",sans-serif; mso-fareast-language:EN-US;}
a:link, span.MsoHyperlink {mso-style-priority:99; color:#0563C1; text-decoration:underline;}
span.EmailStyle17 {mso-style-type:personal-compose; font-family:"Calibri",sans-serif;}
.MsoChpDefault {mso-style-type:export-only; font-family:"Calibri",sans-serif;}
@page WordSection1 {size:612.0pt 792.0pt; margin:72.0pt 72.0pt 72.0pt 72.0pt;}
div.WordSection1 {page:WordSection1;}
--></style>"""


def _sentence(rng: random.Random, accents: bool) -> str:
    words = rng.choices(WORDS, k=rng.randint(6, 18))
    if accents:
        words[rng.randrange(len(words))] = rng.choice(ACCENTED)
    sentence = " ".join(words)
    return sentence[0].upper() + sentence[1:] + "."


def _paragraphs(rng: random.Random, accents: bool, count: int) -> list[str]:
    return [
        " ".join(_sentence(rng, accents) for _ in range(rng.randint(1, 4))) for _ in range(count)
    ]


def _latin1(name: str) -> bool:
    return name.encode("latin-1", "ignore").decode("latin-1") == name


LATIN1_NAMES = tuple(filter(_latin1, NAMES))


def _address(rng: random.Random, names: tuple[str, ...] = NAMES) -> str:
    name = rng.choice(names)
    local = "".join(c for c in name.lower() if c.isascii() and c.isalpha()) or "user"
    return f"{name} <{local}{rng.randint(1, 99)}@{rng.choice(('example.com', 'example.de'))}>"


def _plain_body(rng: random.Random, accents: bool, when: dt.datetime, latin1: bool) -> str:
    names = LATIN1_NAMES if latin1 else NAMES
    text = "Hello,\n\n" + "\n\n".join(_paragraphs(rng, accents, rng.randint(1, 5)))
    text += f"\n\nRegards,\n{rng.choice(names) if accents else 'Jane Doe'}\n"
    if rng.random() < 0.5:  # a quoted reply below the new text
        quoted = "\n".join(_paragraphs(rng, accents, rng.randint(1, 6)))
        stamp = format_datetime(when - dt.timedelta(hours=rng.randint(1, 72)))
        text += f"\nOn {stamp}, {_address(rng, names)} wrote:\n"
        text += "".join(f"> {line}\n" for line in quoted.split("\n"))
        if rng.random() < 0.3:
            text += ">\n>> Earlier message, quoted twice.\n>> " + _sentence(rng, accents) + "\n"
    if rng.random() < 0.4:
        text += "\n-- \nJane Doe | Service Desk | +49 30 1234567\n"
    return text


def _html_body(rng: random.Random) -> str:
    paragraphs = "".join(
        f'<p class="MsoNormal">{p}<o:p></o:p></p>\n' for p in _paragraphs(rng, True, 4)
    )
    items = "".join(f"<li class=MsoNormal>{_sentence(rng, False)}</li>\n" for _ in range(4))
    rows = "".join(
        f"<tr><td>{rng.choice(WORDS)}</td><td>{rng.randint(1, 9999)}</td>"
        f"<td>{rng.choice(ACCENTED)}</td></tr>\n"
        for _ in range(rng.randint(3, 8))
    )
    return (
        '<html xmlns:o="urn:schemas-microsoft-com:office:office"><head>'
        '<meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
        '<meta name="Generator" content="Microsoft Word 15 (filtered medium)">'
        f"{OUTLOOK_STYLE}</head>\n"
        '<body lang="EN-US" link="#0563C1"><div class="WordSection1">\n'
        f"{paragraphs}<ul>\n{items}</ul>\n"
        f'<table class="MsoTableGrid" border="1" cellpadding="0">\n{rows}</table>\n'
        '<p class="MsoNormal">Best regards,<br>Jane Doe<o:p></o:p></p>\n'
        "</div></body></html>\n"
    )


def make_message(rng: random.Random, index: int, attachment_size: int | None = None) -> bytes:
    """One message: ~40% plain, 25% HTML-only, 20% text+HTML, 15% with attachments."""
    when = dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=rng.randrange(30_000_000))
    accents = rng.random() < 0.5
    msg = EmailMessage()
    msg["From"] = _address(rng)
    msg["To"] = ", ".join(_address(rng) for _ in range(rng.randint(1, 3)))
    if rng.random() < 0.3:
        msg["Cc"] = _address(rng)
    subject = rng.choice(SUBJECTS).format(n=rng.randint(1, 999))
    if rng.random() < 0.35:
        parent = f"<{rng.getrandbits(64):016x}@mail.example.com>"
        msg["In-Reply-To"] = parent
        msg["References"] = f"<{rng.getrandbits(64):016x}@mail.example.com> {parent}"
        subject = "Re: " + subject
    msg["Subject"] = subject  # non-ASCII subjects and names are RFC 2047-encoded on output
    msg["Date"] = format_datetime(when)
    msg["Message-ID"] = f"<{rng.getrandbits(64):016x}.{index}@mail.example.com>"

    roll = rng.random()
    kind = "plain" if roll < 0.40 else "html" if roll < 0.65 else "alt" if roll < 0.85 else "mixed"
    if attachment_size:
        kind = "mixed"
    if kind == "html":
        msg.set_content(_html_body(rng), subtype="html", cte="quoted-printable")
    else:
        charset = "iso-8859-1" if accents and rng.random() < 0.5 else "utf-8"
        text = _plain_body(rng, accents, when, latin1=charset == "iso-8859-1")
        cte = "quoted-printable" if charset == "iso-8859-1" else rng.choice(("8bit", "base64"))
        msg.set_content(text, charset=charset, cte=cte)
        if kind == "alt":
            msg.add_alternative(_html_body(rng), subtype="html", cte="quoted-printable")
    if kind == "mixed":
        low, high = math.log(10 * 1024), math.log(2 * MIB)
        sizes = [attachment_size] if attachment_size else [
            int(math.exp(rng.uniform(low, high))) for _ in range(rng.randint(1, 3))
        ]  # fmt: skip
        for size in sizes:
            maintype, subtype, name = rng.choice(ATTACHMENT_TYPES)
            msg.add_attachment(
                rng.randbytes(size),  # random bytes: incompressible, like real PDFs and JPEGs
                maintype=maintype,
                subtype=subtype,
                filename=name.format(n=rng.randint(1, 999)),
            )
    for part in msg.walk():  # the email package would draw boundaries from the global RNG
        if part.is_multipart():
            part.set_boundary(f"----=_Part_{index}_{rng.getrandbits(48):012x}")
    return msg.as_bytes(policy=SMTP)  # CRLF line endings, as fetched over IMAP


def corpus_paths(out: Path, seed: int, count: int) -> list[Path]:
    """The first ``count`` messages for ``seed``, generating the missing ones."""
    folder = out / f"v{GENERATOR_VERSION}-seed{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"{index:06d}.eml" for index in range(count)]
    missing = [(index, path) for index, path in enumerate(paths) if not path.exists()]
    if missing:
        print(f"generating {len(missing)} messages in {folder} ...", file=sys.stderr, flush=True)
    for index, path in missing:
        raw = make_message(random.Random(seed * 1_000_003 + index), index)
        partial = path.with_suffix(".tmp")
        partial.write_bytes(raw)
        partial.rename(path)
    return paths


# --- what each approach does with one message ------------------------------------------


def tracker_mail_reader():
    from tracker_mail_plugin.mail import parse_message

    def read(raw: bytes) -> None:
        message = parse_message(raw)
        _ = (message.subject, message.from_, message.body, message.full_body, message.automated)
        for attachment in message.attachments:
            _ = (attachment.size, attachment.sha256)

    return read


def naive_reader(hash_attachments: bool):
    import email
    import email.policy

    def read(raw: bytes) -> None:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        _ = (msg["subject"], msg["from"])
        body = msg.get_body(preferencelist=("plain", "html"))
        if body is not None:
            body.get_content()
        for part in msg.iter_attachments():
            content = part.get_content()
            if hash_attachments:
                if isinstance(content, str):
                    content = content.encode("utf-8", "surrogateescape")
                elif not isinstance(content, bytes):  # message/rfc822: a Message object
                    content = content.as_bytes()
                hashlib.sha256(content).hexdigest()

    return read


READERS = {
    "tracker-mail": tracker_mail_reader,
    "naive": lambda: naive_reader(hash_attachments=True),
    "naive-nohash": lambda: naive_reader(hash_attachments=False),
}


def peak_rss_mib() -> float:
    """This process's peak RSS. VmHWM, because ru_maxrss survives exec on Linux: a child
    would report its parent's peak (here the corpus generator's) if that was higher."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def rss_now_mib() -> float:
    status = Path("/proc/self/status").read_text()
    return (
        int(next(line for line in status.splitlines() if line.startswith("VmRSS:")).split()[1])
        / 1024
    )


def message_kind(raw: bytes) -> str:
    """Which of the corpus's four shapes ``raw`` has (from its top-level Content-Type)."""
    head = raw[: raw.find(b"\r\n\r\n")]
    shapes = {b"multipart/mixed": "mixed", b"multipart/alternative": "alt", b"text/html": "html"}
    for token, kind in shapes.items():
        if b"Content-Type: " + token in head:
            return kind
    return "plain"


def child_stream(kind: str, folder: str, count: int) -> dict:
    """Parse each file in turn; only the parse is timed and nothing outlives its message."""
    files = [Path(folder) / f"{index:06d}.eml" for index in range(count)]
    read = READERS[kind]()
    rss_after_imports = peak_rss_mib()
    elapsed, total, largest = 0.0, 0, 0
    by_kind: dict[str, list[float]] = {}  # kind -> [messages, seconds]
    for name in files:
        raw = name.read_bytes()
        start = time.perf_counter()
        read(raw)
        seconds = time.perf_counter() - start
        elapsed += seconds
        total += len(raw)
        largest = max(largest, len(raw))
        tally = by_kind.setdefault(message_kind(raw), [0, 0.0])
        tally[0] += 1
        tally[1] += seconds
    return {
        "messages": len(files),
        "bytes": total,
        "largest": largest,
        "seconds": elapsed,
        "by_kind": by_kind,
        "rss_imports": rss_after_imports,
        "rss_peak": peak_rss_mib(),
        "rss_end": rss_now_mib(),
    }


def child_big(kind: str, seed: int) -> dict[str, float]:
    """tracemalloc peak while parsing one message with a 25 MiB attachment."""
    import tracemalloc

    read = READERS[kind]()
    read(make_message(random.Random(seed), 0))  # warm up lazy imports and caches
    raw = make_message(random.Random(seed), 0, attachment_size=BIG_ATTACHMENT)
    tracemalloc.start()  # after building the input: the caller's raw bytes are not counted
    read(raw)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {"raw": len(raw), "peak": peak}


# --- the driver ------------------------------------------------------------------------


def run_child(*args: str) -> dict:
    with_args = [sys.executable, os.path.abspath(__file__), "--child", *args]
    done = subprocess.run(with_args, capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(f"child {args[:2]} failed:\n{done.stderr}")
    return json.loads(done.stdout)


def run_stream(kind: str, paths: list[Path]) -> dict:
    return run_child("stream", kind, str(paths[0].parent), str(len(paths)))


def summarise(runs: list[dict]) -> dict:
    best = min(runs, key=lambda run: run["seconds"])
    return {
        "by_kind": best["by_kind"],
        "msg_s": best["messages"] / best["seconds"],
        "mb_s": best["bytes"] / 1e6 / best["seconds"],
        "median_msg_s": statistics.median(run["messages"] / run["seconds"] for run in runs),
        "rss_imports": max(run["rss_imports"] for run in runs),
        "rss_peak": max(run["rss_peak"] for run in runs),
    }


def table(head: tuple[str, ...], rows: list[tuple[str, ...]], markdown: bool) -> list[str]:
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        return lines + ["| " + " | ".join(row) + " |" for row in rows]
    widths = [max(len(row[i]) for row in [head, *rows]) for i in range(len(head))]
    fmt = "  ".join(f"{{:{'<' if i == 0 else '>'}{w}}}" for i, w in enumerate(widths))
    return [fmt.format(*row) for row in [head, *rows]]


KIND_LABELS = {
    "plain": "plain text",
    "html": "HTML only",
    "alt": "text + HTML",
    "mixed": "with attachments",
}


def report(results: dict, markdown: bool) -> str:
    labels = {
        "tracker-mail": "tracker-mail `parse_message`",
        "naive": "`email` policy.default + sha256",
        "naive-nohash": "`email` policy.default, no sha256",
    }
    info = results["info"]
    head = ("approach", "msg/s", "MB/s", "median msg/s", "RSS after imports", "peak RSS")
    rows = [
        (
            labels[kind],
            f"{r['msg_s']:,.0f}",
            f"{r['mb_s']:,.1f}",
            f"{r['median_msg_s']:,.0f}",
            f"{r['rss_imports']:,.0f} MiB",
            f"{r['rss_peak']:,.0f} MiB",
        )
        for kind, r in results["timing"].items()
    ]
    ours, theirs = (
        results["timing"]["tracker-mail"]["by_kind"],
        results["timing"]["naive"]["by_kind"],
    )
    kind_rows = [
        (
            label,
            f"{ours[kind][0]:,}",
            f"{ours[kind][1] / ours[kind][0] * 1e3:.2f}",
            f"{theirs[kind][1] / theirs[kind][0] * 1e3:.2f}",
            f"{theirs[kind][1] / ours[kind][1]:.2f}x",
        )
        for kind, label in KIND_LABELS.items()
        if kind in ours
    ]
    kind_head = ("message shape", "messages", "tracker-mail ms/msg", "email+sha256 ms/msg", "ratio")
    ratio = results["timing"]["tracker-mail"]["msg_s"] / results["timing"]["naive"]["msg_s"]
    mem, big = results["memory"], results["big"]
    notes = [
        f"corpus: {info['messages']:,} messages, {info['bytes'] / 1e6:,.1f} MB, seed "
        f"{info['seed']}; best of {info['repeat']} runs, each in a fresh process",
        f"throughput ratio tracker-mail / (email + sha256): {ratio:.2f}x",
        f"tracker-mail peak RSS over N={mem['n']:,} messages: {mem['peak_n']:,.0f} MiB "
        f"(largest message {mem['largest_n'] / 1e6:.1f} MB); over 4N={4 * mem['n']:,}: "
        f"{mem['peak_4n']:,.0f} MiB (largest {mem['largest_4n'] / 1e6:.1f} MB), "
        f"RSS after the last message {mem['end_4n']:,.0f} MiB",
    ]
    notes += [
        f"{BIG_ATTACHMENT // MIB} MiB attachment ({big[kind]['raw'] / 1e6:,.1f} MB raw), "
        f"{labels[kind]}: tracemalloc peak {big[kind]['peak'] / MIB:,.1f} MiB = "
        f"{big[kind]['peak'] / BIG_ATTACHMENT:.2f}x the attachment"
        for kind in big
    ]
    bullet = "- " if markdown else ""
    lines = [*table(head, rows, markdown), "", *table(kind_head, kind_rows, markdown), ""]
    return "\n".join(lines + [bullet + note for note in notes])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=3000, help="corpus size N")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "corpus")
    parser.add_argument("--repeat", type=int, default=3, help="timing runs per approach")
    parser.add_argument("--markdown", action="store_true", help="also print Markdown")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        mode, kind, *rest = args.child
        if mode == "stream":
            result = child_stream(kind, rest[0], int(rest[1]))
        else:
            result = child_big(kind, args.seed)
        print(json.dumps(result))
        return

    n = args.messages
    paths = corpus_paths(args.out, args.seed, 4 * n)  # 4N for the memory check
    runs: dict[str, list[dict]] = {kind: [] for kind in READERS}
    for attempt in range(args.repeat):
        order = list(READERS) if attempt % 2 == 0 else list(reversed(READERS))
        for kind in order:  # alternated so no approach always runs on a quieter machine
            runs[kind].append(run_stream(kind, paths[:n]))
            run = {key: value for key, value in runs[kind][-1].items() if key != "by_kind"}
            print(f"run {attempt + 1} {kind}: {run}", file=sys.stderr, flush=True)
    four_n = run_stream("tracker-mail", paths)
    results = {
        "info": {
            "messages": n,
            "bytes": runs["naive"][0]["bytes"],
            "seed": args.seed,
            "repeat": args.repeat,
        },
        "timing": {kind: summarise(kind_runs) for kind, kind_runs in runs.items()},
        "memory": {
            "n": n,
            "peak_n": max(run["rss_peak"] for run in runs["tracker-mail"]),
            "largest_n": runs["tracker-mail"][0]["largest"],
            "peak_4n": four_n["rss_peak"],
            "largest_4n": four_n["largest"],
            "end_4n": four_n["rss_end"],
        },
        "big": {
            kind: run_child("big", kind, "--seed", str(args.seed))
            for kind in ("tracker-mail", "naive")
        },
    }
    print(report(results, markdown=False))
    if args.markdown:
        print("\n" + report(results, markdown=True))


if __name__ == "__main__":
    main()
