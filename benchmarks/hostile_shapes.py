"""Hostile shapes for the growth table of ``benchmarks/hostile.py``: ``f(size) -> bytes``.

What a hostile sender or a broken mailer could send, each at a size in bytes (about): MIME
structure, headers, addresses, HTML, encodings, embedded files, winmail.dat, reply and
signature markers, issue references. ``tests/hostile.py`` holds the shapes that once broke
the parser (the tests use those); these are the wider sweep they were found in.
"""

import base64
import random
import struct
from collections.abc import Callable

H = b"From: Alice <alice@example.com>\r\nMessage-ID: <h@example.com>\r\n"


def mail(headers, body, ct=b"text/plain; charset=utf-8"):
    return H + headers + b"Content-Type: " + ct + b"\r\n\r\n" + body


def html_mail(body):
    return mail(b"Subject: h\r\n", body, b"text/html; charset=utf-8")


def nested_multipart(n):
    n = n // 100
    out = b""
    for i in range(n):
        out += b"--b%d\r\nContent-Type: multipart/mixed; boundary=b%d\r\n\r\n" % (i, i + 1)
    out += b"--b%d\r\nContent-Type: text/plain\r\n\r\ndeep\r\n--b%d--\r\n" % (n, n)
    for i in reversed(range(n)):
        out += b"--b%d--\r\n" % i
    return mail(b"Subject: nest\r\n", out, b"multipart/mixed; boundary=b0")


def nested_rfc822(n):
    n = n // 100
    inner = b"From: x@y.z\r\nSubject: deep\r\n\r\ndeep text\r\n"
    for i in range(n):
        inner = b"From: x@y.z\r\nSubject: l%d\r\nContent-Type: message/rfc822\r\n\r\n" % i + inner
    return mail(b"Subject: rfc822\r\n", inner, b"message/rfc822")


def many_parts(n):
    n = n // 10
    body = (
        b"".join(b"--B\r\nContent-Type: text/plain\r\n\r\npart %d\r\n" % i for i in range(n))
        + b"--B--\r\n"
    )
    return mail(b"Subject: many\r\n", body, b"multipart/mixed; boundary=B")


def many_attachments(n):
    n = n // 10
    body = (
        b"".join(
            b"--B\r\nContent-Type: application/octet-stream; name=f%d.bin\r\n"
            b"Content-Disposition: attachment; filename=f%d.bin\r\n\r\nx\r\n" % (i, i)
            for i in range(n)
        )
        + b"--B--\r\n"
    )
    return mail(b"Subject: many att\r\n", body, b"multipart/mixed; boundary=B")


def missing_boundary(n):
    n = n // 10
    body = b"".join(b"--B\r\nContent-Type: text/plain\r\n\r\npart %d\r\n" % i for i in range(n))
    return mail(b"Subject: noend\r\n", body, b"multipart/mixed; boundary=C")


def no_close_boundary(n):
    n = n // 10
    body = b"".join(b"--B\r\nContent-Type: text/plain\r\n\r\npart %d\r\n" % i for i in range(n))
    return mail(b"Subject: noclose\r\n", body, b"multipart/mixed; boundary=B")


def prefix_boundaries(n):
    # nested boundaries each a prefix of the next
    n = n // 200
    out = b""
    for i in range(1, n + 1):
        out += (
            b"--"
            + b"a" * i
            + b"\r\nContent-Type: multipart/mixed; boundary="
            + b"a" * (i + 1)
            + b"\r\n\r\n"
        )
    out += b"--" + b"a" * (n + 1) + b"\r\n\r\nx\r\n"
    return mail(b"Subject: prefix\r\n", out, b"multipart/mixed; boundary=a")


def boundary_lookalikes(n):
    # one part whose text has n lines starting with the boundary plus garbage
    body = (
        b"--B\r\nContent-Type: text/plain\r\n\r\n"
        + b"--Bx not a boundary\r\n" * (n // 20)
        + b"--B--\r\n"
    )
    return mail(b"Subject: lookalike\r\n", body, b"multipart/mixed; boundary=B")


def duplicate_boundary_nested(n):
    n = n // 100
    out = b""
    for _ in range(n):
        out += b"--B\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n"
    out += b"--B\r\n\r\ntext\r\n" + b"--B--\r\n" * (n + 1)
    return mail(b"Subject: dup\r\n", out, b"multipart/mixed; boundary=B")


def huge_header_line(n):
    return mail(b"Subject: " + b"x" * n + b"\r\n", b"body\r\n")


def folded_100k(n):
    return mail(b"Subject: " + b"x\r\n " * (n // 4) + b"end\r\n", b"body\r\n")


def many_headers(n):
    return mail(b"Subject: hdrs\r\n" + b"X-H: v\r\n" * (n // 8), b"body\r\n")


def encoded_words(n):
    w = b"=?utf-8?q?caf=C3=A9?= "
    return mail(b"Subject: " + w * (n // len(w)) + b"\r\n", b"body\r\n")


def encoded_words_b(n):
    w = b"=?utf-8?b?" + base64.b64encode("é".encode()) + b"?= "
    return mail(b"Subject: " + w * (n // len(w)) + b"\r\n", b"body\r\n")


def encoded_words_broken(n):
    w = b"=?utf-8?q?caf "  # never closed
    return mail(b"Subject: " + w * (n // len(w)) + b"\r\n", b"body\r\n")


def encoded_words_unknown(n):
    w = b"=?x-bogus-%d?q?a?= "
    return mail(b"Subject: " + b"".join(w % i for i in range(n // 20)) + b"\r\n", b"body\r\n")


def rfc2231_many(n):
    k = n // 30
    params = b"".join(b";\r\n filename*%d*=utf-8''%%41%%42" % i for i in range(k))
    return mail(
        b"Subject: 2231\r\n",
        b"--B\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment"
        + params
        + b"\r\n\r\nx\r\n--B--\r\n",
        b"multipart/mixed; boundary=B",
    )


def rfc2231_reversed(n):
    k = n // 30
    params = b"".join(b";\r\n filename*%d*=%%41%%42" % i for i in reversed(range(k)))
    return mail(
        b"Subject: 2231r\r\n",
        b"--B\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment"
        + params
        + b"\r\n\r\nx\r\n--B--\r\n",
        b"multipart/mixed; boundary=B",
    )


def rfc2231_malformed(n):
    k = n // 20
    params = b"".join(b"; a*=%%%%'';b*x*=\"\\" for i in range(k))
    return mail(b"Subject: 2231m\r\n", b"x\r\n", b"text/plain; charset*=utf-8''%ZZ" + params)


def params_many(n):
    k = n // 12
    params = b"".join(b'; p%d="v"' % i for i in range(k))
    return mail(b"Subject: params\r\n", b"x\r\n", b"text/plain; charset=utf-8" + params)


def params_quotes(n):
    return mail(b"Subject: pq\r\n", b"x\r\n", b'text/plain; charset="' + b'\\"' * (n // 2))


def references_many(n):
    k = n // 20
    ids = b" ".join(b"<id%d@example.com>" % i for i in range(k))
    return mail(
        b"Subject: refs\r\nReferences: " + ids + b"\r\nIn-Reply-To: " + ids + b"\r\n", b"body\r\n"
    )


def references_broken(n):
    return mail(b"Subject: refs\r\nReferences: " + b"<" * n + b"\r\n", b"body\r\n")


def references_angle(n):
    return mail(b"Subject: refs\r\nReferences: " + b"<a@b " * (n // 5) + b"\r\n", b"body\r\n")


def to_many(n):
    k = n // 30
    addrs = b", ".join(b"User %d <u%d@example.com>" % (i, i) for i in range(k))
    return mail(b"Subject: to\r\nTo: " + addrs + b"\r\nCc: " + addrs + b"\r\n", b"body\r\n")


def from_nested_comments(n):
    return (
        b"From: "
        + b"(" * (n // 2)
        + b"x"
        + b")" * (n // 2)
        + b" a@b.c\r\nMessage-ID: <h@example.com>\r\nSubject: c\r\n\r\nbody\r\n"
    )


def to_quotes(n):
    return mail(b"Subject: q\r\nTo: " + b'"\\"a\\\\" <a@b.c>, ' * (n // 18) + b"\r\n", b"body\r\n")


def to_unclosed_quote(n):
    return mail(b'Subject: q\r\nTo: "' + b"a, b@c.d " * (n // 9) + b"\r\n", b"body\r\n")


def to_groups(n):
    return mail(b"Subject: g\r\nTo: " + b"g: a@b.c, " * (n // 10) + b"\r\n", b"body\r\n")


def to_angles(n):
    return mail(b"Subject: g\r\nTo: " + b"<" * n + b"\r\n", b"body\r\n")


def to_at(n):
    return mail(b"Subject: g\r\nTo: " + b"@" * n + b"\r\n", b"body\r\n")


def html_nested(n):
    d = n // 11
    return html_mail(b"<div>" * d + b"deep" + b"</div>" * d)


def html_unclosed(n):
    return html_mail(b"<p><b><i><span>x" * (n // 17))


def html_unclosed_tables(n):
    return html_mail(b"<table><tr><td>x" * (n // 16))


def html_deep_tables(n):
    d = n // 40
    return html_mail(b"<table><tr><td>" * d + b"x" + b"</td></tr></table>" * d)


def html_wide_table(n):
    return html_mail(b"<table><tr>" + b"<td>x</td>" * (n // 10) + b"</tr></table>")


def html_many_rows(n):
    return html_mail(b"<table>" + b"<tr><td>x</td></tr>" * (n // 19) + b"</table>")


def html_attrs(n):
    return html_mail(b"<div " + b"".join(b"a%d=x " % i for i in range(n // 7)) + b">t</div>")


def html_style_attrs(n):
    return html_mail(b'<p style="color:red">t</p>' * (n // 26))


def html_hidden_style(n):
    return html_mail(b'<p style="' + b"display:none;" * (n // 13) + b'">t</p><p>keep</p>')


def css_bomb(n):
    return html_mail(b"<style>" + b"a{b:c}" * (n // 6) + b"</style><p>t</p>")


def html_whitespace(n):
    return html_mail(b"<p>" + b" \t" * (n // 2) + b"x</p>")


def html_brs(n):
    return html_mail(b"<br>" * (n // 4) + b"x")


def html_lists(n):
    d = n // 8
    return html_mail(b"<ul><li>" * d + b"x")


def html_entities(n):
    return html_mail(b"&amp;" * (n // 5))


def html_comments(n):
    return html_mail(b"<!--" * (n // 4) + b"x")


def html_links(n):
    return html_mail(b'<a href="http://x/">l</a>' * (n // 25))


def html_pre(n):
    return html_mail(b"<pre>" + b"x\n" * (n // 2) + b"</pre>")


def html_blockquote_flat(n):
    return html_mail(b"<blockquote>q</blockquote>" * (n // 26))


def long_line(n):
    return mail(b"Subject: long\r\n", b"a" * n)


def long_line_spaces(n):
    return mail(b"Subject: long\r\n", b"a " * (n // 2))


def qp_soft_breaks(n):
    return mail(
        b"Subject: qp\r\nContent-Transfer-Encoding: quoted-printable\r\n",
        b"=\r\n" * (n // 3) + b"x",
    )


def qp_garbage(n):
    return mail(
        b"Subject: qp\r\nContent-Transfer-Encoding: quoted-printable\r\n", b"=Z=" * (n // 3)
    )


def b64_garbage(n):
    data = base64.b64encode(b"hello world " * (n // 24))
    junk = b"!@#$%\r\n".join(data[i : i + 60] for i in range(0, len(data), 60))
    return mail(b"Subject: b64\r\nContent-Transfer-Encoding: base64\r\n", junk)


def b64_padding(n):
    return mail(b"Subject: b64\r\nContent-Transfer-Encoding: base64\r\n", b"QQ==" * (n // 4))


def uu_no_end(n):
    return mail(
        b"Subject: uu\r\n",
        b"begin 644 f.bin\r\nM" + b"a" * 60 + b"\r\n" + (b"begin 644 g.bin\r\n" * (n // 17)),
    )


def uu_lines_no_end(n):
    return mail(
        b"Subject: uu\r\n", b"begin 644 f.bin\r\n" + (b"M" + b"8" * 60 + b"\r\n") * (n // 63)
    )


def uu_many_begins_bodies(n):
    return mail(b"Subject: uu\r\n", (b"begin 644 f.bin\r\nM" + b"8" * 60 + b"\r\n") * (n // 80))


def binhex_no_end(n):
    return mail(
        b"Subject: bh\r\n", b"(This file must be converted with BinHex 4.0)\r\n" * (n // 47)
    )


def binhex_open(n):
    return mail(
        b"Subject: bh\r\n", b"(This file must be converted with BinHex 4.0)\r\n:" + b"!" * n
    )


def charset_lie_utf16(n):
    return mail(b"Subject: cs\r\n", b"hello world\r\n" * (n // 13), b"text/plain; charset=utf-16")


def charset_unknown(n):
    return mail(
        b"Subject: cs\r\n", b"h\xe9llo w\xf6rld\r\n" * (n // 13), b"text/plain; charset=x-unknown"
    )


def charset_none_8bit(n):
    return mail(
        b"Subject: cs\r\n",
        bytes(random.Random(1).randrange(128, 256) for _ in range(n)),
        b"text/plain",
    )


def nul_headers(n):
    return mail(b"Subject: a\x00b" * 1 + b"\x00" * n + b"\r\nX-N: \x00\r\n", b"bo\x00dy\r\n")


def surrogate_headers(n):
    w = b"=?utf-8?b?" + base64.b64encode(b"\xed\xa0\x80") + b"?= "
    return mail(b"Subject: " + w * (n // len(w)) + b"\r\nTo: \xed\xa0\x80 <a@b.c>\r\n", b"body\r\n")


def utf16_surrogate_word(n):
    w = b"=?utf-16-le?b?" + base64.b64encode(b"\x00\xd8") + b"?= "
    return mail(b"Subject: " + w * (n // len(w)) + b"\r\n", b"body\r\n")


def subject_1mb(n):
    return mail(b"Subject: " + b"word " * (n // 5) + b"\r\n", b"body\r\n")


def re_storm(n):
    return mail(b"Subject: " + b"Re: " * (n // 4) + b"x\r\n", b"body\r\n")


def re_fwd_storm(n):
    return mail(b"Subject: " + b"Re: Fwd: AW: [ext] " * (n // 19) + b"x\r\n", b"body\r\n")


def quote_markers(n):
    return mail(b"Subject: q\r\n", b"new\r\n" + b">" * n + b" x\r\n")


def quote_markers_spaced(n):
    return mail(b"Subject: q\r\n", b"new\r\n" + b"> " * (n // 2) + b"x\r\n")


def quote_lines(n):
    return mail(b"Subject: q\r\n", b"new\r\n" + b"> x\r\n" * (n // 5))


def quote_alternating(n):
    return mail(b"Subject: q\r\n", b"new\r\n" + b"> x\r\ny\r\n" * (n // 8))


def on_wrote_lines(n):
    return mail(b"Subject: q\r\n", b"new\r\n" + b"On Mon, Bob <b@c.d> wrote:\r\n" * (n // 29))


def on_no_wrote(n):
    return mail(b"Subject: q\r\n", b"new\r\n" + b"On Mon, Bob <b@c.d>\r\n" * (n // 22))


def original_message(n):
    return mail(
        b"Subject: q\r\n",
        b"new\r\n" + b"-----Original Message-----\r\nFrom: x\r\nSent: y\r\n" * (n // 48),
    )


def outlook_headers(n):
    return mail(
        b"Subject: q\r\n",
        b"new\r\n" + b"From: Bob\r\nSent: Monday\r\nTo: x\r\nSubject: y\r\n" * (n // 46),
    )


def underscores(n):
    return mail(b"Subject: q\r\n", b"new\r\n" + b"________________________________\r\n" * (n // 34))


def sig_dashes(n):
    return mail(b"Subject: q\r\n", b"new\r\n" + b"-- \r\nsig\r\n" * (n // 10))


def sig_mobile(n):
    return mail(b"Subject: q\r\n", b"new\r\n" + b"Sent from my iPhone\r\n" * (n // 21))


def sig_names(n):
    return mail(b"Subject: q\r\n", b"new\r\n" + b"Best regards,\r\nBob\r\n" * (n // 20))


def reply_marker_long_line(n):
    return mail(b"Subject: q\r\n", b"new\r\nOn " + b"x, " * (n // 3) + b" wrote:\r\n> old\r\n")


def reply_many_langs(n):
    s = (
        "Am Mo schrieb Bob:\r\nLe lun. a écrit :\r\nEl lun escribió:\r\nOp ma schreef Bob:\r\n"
    ).encode()
    return mail(b"Subject: q\r\n", b"new\r\n" + s * (n // len(s)))


def automated_body(n):
    s = (
        b"Delivery has failed to these recipients or groups. Undeliverable. Mail delivery "
        b"failed. out of office. I am away. automatic reply\r\n"
    )
    return mail(b"Subject: Undeliverable: x\r\n", s * (n // len(s)))


def automated_headers(n):
    return mail(
        b"Subject: auto\r\nAuto-Submitted: "
        + b"auto-replied; " * (n // 14)
        + b"\r\nPrecedence: "
        + b"bulk " * (n // 5)
        + b"\r\n",
        b"x\r\n",
    )


def issue_refs_subject(n):
    return mail(b"Subject: " + b"[#123] " * (n // 7) + b"\r\n", b"body\r\n")


def issue_refs_tags(n):
    return mail(b"Subject: " + b"[Proj - Bug #12] " * (n // 17) + b"\r\n", b"body\r\n")


def issue_refs_hash(n):
    return mail(b"Subject: " + b"#" * n + b"\r\n", b"body\r\n")


def issue_refs_jira(n):
    return mail(b"Subject: " + b"ABC-1 " * (n // 6) + b"\r\n", b"body\r\n")


def issue_refs_dashes(n):
    return mail(b"Subject: " + b"A-" * (n // 2) + b"\r\n", b"body\r\n")


def issue_refs_body(n):
    return mail(b"Subject: x\r\n", b"[#123] " * (n // 7))


def ics_part(n):
    ics = (
        b"BEGIN:VCALENDAR\r\n"
        + b"BEGIN:VEVENT\r\nSUMMARY:x\r\nEND:VEVENT\r\n" * (n // 40)
        + b"END:VCALENDAR\r\n"
    )
    body = (
        b"--B\r\nContent-Type: text/plain\r\n\r\ninvite\r\n--B\r\n"
        b"Content-Type: text/calendar; method=REQUEST\r\n\r\n" + ics + b"--B--\r\n"
    )
    return mail(b"Subject: ics\r\n", body, b"multipart/mixed; boundary=B")


def ics_only(n):
    ics = b"BEGIN:VCALENDAR\r\nX:" + b"a\r\n " * (n // 4) + b"\r\nEND:VCALENDAR\r\n"
    return mail(b"Subject: ics\r\n", ics, b"text/calendar")


def rtf_bomb_raw(n):
    d = n // 2
    return mail(b"Subject: rtf\r\n", b"{\\rtf1 " + b"{" * d + b"x" + b"}" * d, b"text/rtf")


def date_long(n):
    return mail(b"Subject: d\r\nDate: " + b"Mon, 1 Jan 2024 " * (n // 16) + b"\r\n", b"x\r\n")


def msgid_long(n):
    return mail(b"Subject: d\r\nIn-Reply-To: <" + b"a" * n + b"@b>\r\n", b"x\r\n")


def alternative_many(n):
    k = n // 60
    body = (
        b"".join(b"--B\r\nContent-Type: text/html\r\n\r\n<p>part %d</p>\r\n" % i for i in range(k))
        + b"--B--\r\n"
    )
    return mail(b"Subject: alt\r\n", body, b"multipart/alternative; boundary=B")


def header_no_colon(n):
    return H + b"Subject: nc\r\n" + b"garbage line without colon\r\n" * (n // 28) + b"\r\nbody\r\n"


def crlf_storm(n):
    return mail(b"Subject: cr\r\n", b"\r" * n + b"x")


def mixed_newlines(n):
    return mail(b"Subject: cr\r\n", b"a\rb\nc\r\n" * (n // 7))


def base64_header_block(n):
    # part headers with huge lines inside multipart
    body = b"--B\r\nContent-Type: text/plain; " + b"x" * n + b"\r\n\r\nt\r\n--B--\r\n"
    return mail(b"Subject: ph\r\n", body, b"multipart/mixed; boundary=B")


def part_header_fold(n):
    body = b"--B\r\nContent-Type: text/plain;\r\n" + b" a=b;\r\n" * (n // 7) + b"\r\nt\r\n--B--\r\n"
    return mail(b"Subject: ph\r\n", body, b"multipart/mixed; boundary=B")


def filename_long(n):
    body = (
        b'--B\r\nContent-Type: application/pdf; name="' + b"a" * n + b'.pdf"\r\n\r\nt\r\n--B--\r\n'
    )
    return mail(b"Subject: ph\r\n", body, b"multipart/mixed; boundary=B")


def filename_rtl(n):
    body = (
        b'--B\r\nContent-Type: application/pdf; name="'
        + "\u202e\u200b".encode() * (n // 6)
        + b'fdp.exe"\r\n\r\nt\r\n--B--\r\n'
    )
    return mail(b"Subject: ph\r\n", body, b"multipart/mixed; boundary=B")


def _tnef(objs):
    out = [struct.pack("<IH", 0x223E9F78, 1)]
    for level, name, typ, data in objs:
        out.append(
            struct.pack("<BHHI", level, name, typ, len(data))
            + data
            + struct.pack("<H", sum(data) & 0xFFFF)
        )
    return b"".join(out)


def _winmail(tnef):
    b64 = base64.encodebytes(tnef)
    body = (
        b"--B\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--B\r\n"
        b"Content-Type: application/ms-tnef; name=winmail.dat\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n" + b64 + b"--B--\r\n"
    )
    return mail(b"Subject: tnef\r\n", body, b"multipart/mixed; boundary=B")


def tnef_many_objects(n):
    return _winmail(_tnef([(1, 0x8008, 6, b"")] * (n // 11)))


def tnef_lying_props(n):
    props = struct.pack("<I", 0xFFFFFFF0)
    return _winmail(_tnef([(1, 0x9003, 6, props)] * max(1, n // 100000)))


def tnef_lying_length(n):
    t = (
        struct.pack("<IH", 0x223E9F78, 1)
        + struct.pack("<BHHI", 1, 0x800C, 6, 0xFFFFFFF0)
        + b"x" * n
    )
    return _winmail(t)


def tnef_rtf_bomb(n):
    import compressed_rtf

    rtf = b"{\\rtf1\\ansi\\fromtext " + b"{" * (n // 2) + b"x" + b"}" * (n // 2) + b"}"
    comp = compressed_rtf.compress(rtf, compressed=True)
    props = (
        struct.pack("<I", 1)
        + struct.pack("<HH", 0x0102, 0x1009)
        + struct.pack("<II", 1, len(comp))
        + comp
        + b"\0" * (-len(comp) % 4)
    )
    return _winmail(_tnef([(1, 0x9003, 6, props)]))


def tnef_attachments(n):
    objs = []
    for i in range(n // 200):
        objs += [
            (2, 0x9002, 2, b"\1\0\0\0" + b"\0" * 10),
            (2, 0x8010, 1, b"f%d.txt\0" % i),
            (2, 0x800F, 6, b"x" * 100),
        ]
    return _winmail(_tnef(objs))


def ws_subject(n):
    return mail(b"Subject: Re:" + b" " * n + b"x\r\n", b"body\r\n")


def ws_to(n):
    return mail(b"Subject: w\r\nTo: a" + b" " * n + b"\r\n", b"body\r\n")


def ws_to_commas(n):
    return mail(b"Subject: w\r\nTo: " + b" ,\t" * (n // 3) + b"\r\n", b"body\r\n")


def ws_date(n):
    return mail(b"Subject: w\r\nDate: Mon," + b" " * n + b"1 Jan 2024\r\n", b"body\r\n")


def ws_ctype(n):
    return mail(b"Subject: w\r\n", b"x\r\n", b"text/plain;" + b" " * n + b"charset")


def ws_disposition(n):
    body = (
        b"--B\r\nContent-Type: text/plain\r\nContent-Disposition: attachment;"
        + b" \t" * (n // 2)
        + b"\r\n\r\nt\r\n--B--\r\n"
    )
    return mail(b"Subject: w\r\n", body, b"multipart/mixed; boundary=B")


def ws_msgid(n):
    return mail(b"Subject: w\r\nReferences: <a@b>" + b" " * n + b"<c@d>\r\n", b"body\r\n")


def ws_body_lines(n):
    return mail(b"Subject: w\r\n", b"new\r\n" + b" " * n + b"\r\n> quoted\r\n")


def ws_tabs_body(n):
    return mail(b"Subject: w\r\n", b"new\r\n" + b"\t \r\n" * (n // 4) + b"-- \r\nsig\r\n")


def auto_subject_ws(n):
    return mail(b"Subject: Automatic reply:" + b" " * n + b"\r\n", b"I am away\r\n")


def list_headers(n):
    return mail(
        b"Subject: l\r\nList-Id: <"
        + b"a." * (n // 2)
        + b">\r\nList-Unsubscribe: "
        + b"<mailto:x@y>, " * (n // 15)
        + b"\r\n",
        b"x\r\n",
    )


def received_many(n):
    return mail(
        b"Subject: r\r\n"
        + b"Received: from a by b with SMTP id x; Mon, 1 Jan 2024 00:00:00 +0000\r\n" * (n // 70),
        b"x\r\n",
    )


def auth_results(n):
    return mail(
        b"Subject: r\r\n"
        + b"Authentication-Results: mx.example.com; dkim=pass header.d=example.com; spf=pass\r\n"
        * (n // 85),
        b"x\r\n",
    )


def dkim_sig(n):
    return mail(
        b"Subject: r\r\nDKIM-Signature: v=1; a=rsa-sha256; " + b"h=from:to; " * (n // 11) + b"\r\n",
        b"x\r\n",
    )


def digest_many(n):
    k = n // 40
    body = (
        b"".join(b"--B\r\n\r\nFrom: a@b.c\r\nSubject: m%d\r\n\r\nhi\r\n" % i for i in range(k))
        + b"--B--\r\n"
    )
    return mail(b"Subject: digest\r\n", body, b"multipart/digest; boundary=B")


def rfc822_wide(n):
    k = n // 100
    inner = (
        b"From: a@b.c\r\nSubject: inner\r\nContent-Type: multipart/mixed; boundary=C\r\n\r\n"
        + b"".join(b"--C\r\n\r\npart\r\n" for _ in range(k))
        + b"--C--\r\n"
    )
    return mail(
        b"Subject: fwd\r\n",
        b"--B\r\nContent-Type: message/rfc822\r\n\r\n" + inner + b"\r\n--B--\r\n",
        b"multipart/mixed; boundary=B",
    )


def flowed_long(n):
    return mail(
        b"Subject: f\r\n",
        b"word " * (n // 5),
        b"text/plain; charset=utf-8; format=flowed; delsp=yes",
    )


def flowed_quotes(n):
    return mail(
        b"Subject: f\r\n", b"> > > a \r\n" * (n // 10), b"text/plain; charset=utf-8; format=flowed"
    )


def html_reply_markers(n):
    return html_mail(
        b"<p>new</p>" + b"<div>On Mon, Bob wrote:</div><blockquote>q</blockquote>" * (n // 60)
    )


def html_outlook_divider(n):
    return html_mail(
        b"<p>new</p>"
        + b'<div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm">'
        b"<p><b>From:</b> x</p></div>" * (n // 120)
    )


def html_gmail_quote(n):
    return html_mail(b"<p>new</p>" + b'<div class="gmail_quote">' * (n // 25) + b"q")


def html_data_uri(n):
    return html_mail(b'<p>x</p><img src="data:image/png;base64,' + b"A" * n + b'">')


def html_many_links_js(n):
    return html_mail(b'<a href="java\tscript:x">l</a>' * (n // 30))


def charset_utf7(n):
    return mail(b"Subject: c\r\n", b"+AGEAYgBj-" * (n // 10), b"text/plain; charset=utf-7")


def charset_utf7_broken(n):
    return mail(b"Subject: c\r\n", b"+" + b"A" * n, b"text/plain; charset=utf-7")


def charset_iso2022(n):
    return mail(
        b"Subject: c\r\n", b"\x1b$B" + b"\x30\x21" * (n // 2), b"text/plain; charset=iso-2022-jp"
    )


def charset_detect_mixed(n):
    r = random.Random(2)
    return mail(
        b"Subject: c\r\n",
        bytes(r.choice(b"abc \xe9\xc3\xa9\x80\xff") for _ in range(n)),
        b"text/plain; charset=unknown-8bit",
    )


def header_8bit_mixed(n):
    r = random.Random(3)
    return mail(
        b"Subject: "
        + bytes(r.choice(b"abc \xe9\xc3\xa9\x80\xff") for _ in range(min(n, 60000)))
        + b"\r\n",
        b"x\r\n",
    )


def cte_unknown(n):
    return mail(
        b"Subject: c\r\nContent-Transfer-Encoding: x-uuencode\r\n", b"begin 644 f\r\n" + b"M" * n
    )


def address_runs(n):
    # Each address header one run of address characters with no "@" after it, then a real
    # address: the salvage of unreadable address lists once rescanned the run from each
    # character (a header is cut at 64 KiB, so at most that long).
    run = b"@a/" + b"." * min(n // 5, 65_000)
    return (
        b"".join(
            name + b": " + run + b" x@example.com\r\n"
            for name in (b"From", b"Sender", b"To", b"Cc", b"Reply-To")
        )
        + b"Subject: s\r\nContent-Type: text/plain\r\n\r\nx\r\n"
    )


SHAPES: dict[str, Callable[[int], bytes]] = {
    name.replace("_", "-"): value
    for name, value in list(globals().items())
    if callable(value)
    and getattr(value, "__module__", None) == __name__
    and not name.startswith("_")
    and name != "mail"
}
