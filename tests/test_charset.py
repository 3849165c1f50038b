import pytest

from tracker_mail_plugin.mail.charset import decode_text


@pytest.mark.parametrize(
    ("text", "codec", "label"),
    [
        ("안녕하세요, 프린터가 고장났습니다", "cp949", "ks_c_5601-1987"),
        ("日本語のメール", "iso2022_jp", "iso-2022-jp"),
        ("半角ｶﾀｶﾅ", "iso2022_jp_ext", "ISO-2022-JP"),  # extension characters under the plain label
        ("丸数字①", "iso2022_jp_2004", "iso-2022-jp"),
        ("简体中文邮件", "gb18030", "gb2312"),
        ("Ελληνικά", "iso8859_7", "iso-8859-7"),
        ("naïve café", "cp1252", "windows-1252"),
        ("smart “quotes” in latin1 mail", "cp1252", "iso-8859-1"),
    ],
)
def test_declared_charsets_decode_without_defect(text, codec, label):
    assert decode_text(text.encode(codec), label) == (text, None)


def test_unknown_charset_label_is_decoded_and_reported():
    text, problem = decode_text("Grüße".encode(), "x-no-such-charset")
    assert text == "Grüße"
    assert "unknown charset 'x-no-such-charset'" in problem


def test_invalid_utf8_keeps_the_rest_and_marks_the_bad_bytes():
    # Valid UTF-8 around the broken bytes: UTF-8 is right, only those bytes are lost.
    text, problem = decode_text("Grüße ".encode() + b"\xff\xfe world", "utf-8")
    assert text == "Grüße \ufffd\ufffd world"
    assert "replaced with U+FFFD" in problem


def test_latin1_label_on_utf8_bytes_is_read_as_utf8():
    text, problem = decode_text("Müller".encode(), "iso-8859-1")
    assert text == "Müller"
    assert "UTF-8" in problem


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("café".encode(), "café"),  # undeclared UTF-8: not a defect, it is the common case
        ("café".encode("latin-1"), "café"),  # short Latin-1: windows-1252, not a wild guess
        (
            "Привет, как дела? Всё хорошо, спасибо".encode("cp1251"),
            "Привет, как дела? Всё хорошо, спасибо",
        ),
    ],
)
def test_undeclared_eight_bit_text(raw, expected):
    assert decode_text(raw, None)[0] == expected


def test_ascii_label_on_latin1_bytes_reads_them_as_windows_1252():
    assert decode_text(b"caf\xe9", "us-ascii") == (
        "café",
        "declared us-ascii but the bytes are cp1252",
    )


def test_ascii_label_with_undefined_bytes_never_fails():
    text, problem = decode_text(b"caf\xe9 \x81", "us-ascii")
    assert text == "caf\xe9 \ufffd"  # only the byte Windows-1252 leaves undefined is lost
    assert "us-ascii" in problem
