from tracker_mail_plugin.mail.html import html_to_text

OUTLOOK = """<html xmlns:o="urn:schemas-microsoft-com:office:office"><head>
<meta http-equiv=Content-Type content="text/html; charset=utf-8">
<style><!-- @font-face {font-family:"Cambria Math";} p.MsoNormal {margin:0cm;} --></style>
<!--[if gte mso 9]><xml><o:shapedefaults v:ext="edit" spidmax="1026" /></xml><![endif]-->
<title>Ignored title</title></head>
<body lang=EN-GB><div class=WordSection1>
<p class=MsoNormal>Hello&nbsp;support,<o:p></o:p></p>
<p class=MsoNormal><o:p>&nbsp;</o:p></p>
<p class=MsoNormal>The scanner fails:<br>every time<br>since Monday.</p>
<script>document.write("tracking pixel code")</script>
<!-- an HTML comment with secret text -->
<ul><li>Model: X200</li><li>Floor: 3</li></ul>
<ol><li>first</li><li>second</li></ol>
<p>Details: <a href="https://status.example.com/x?id=1">status page</a></p>
<table><tr><th>Part</th><th>Qty</th></tr><tr><td>Toner</td><td>2</td></tr></table>
<p><img src="cid:image001.png@01DB0000.00000000" width=100>
<img src="https://cdn.example.com/img/logo.gif" alt="ACME logo"></p>
</div></body></html>"""


def test_outlook_html_becomes_readable_text():
    text = html_to_text(OUTLOOK)
    assert text.startswith("Hello support,\n\nThe scanner fails:\nevery time\nsince Monday.")
    assert "- Model: X200\n- Floor: 3" in text
    assert "1. first\n2. second" in text
    assert "[status page](https://status.example.com/x?id=1)" in text
    assert "| Part | Qty |" in text
    assert "| Toner | 2 |" in text
    assert "[image: image001.png]" in text
    assert "[image: ACME logo]" in text


def test_style_script_comments_and_head_leave_no_text():
    text = html_to_text(OUTLOOK)
    for hidden in (
        "font-family",
        "Cambria",
        "MsoNormal",
        "tracking pixel",
        "secret text",
        "Ignored title",
        "spidmax",
    ):
        assert hidden not in text


def test_no_runs_of_blank_lines():
    assert "\n\n\n" not in html_to_text(
        "<p>a</p><p>&nbsp;</p><p>&nbsp;</p><div><br><br><br></div><p>b</p>"
    )


def test_broken_html_does_not_raise():
    text = html_to_text("<p>unclosed <b>bold <table><tr><td>cell")
    assert text.startswith("unclosed **bold")
    assert "| cell |" in text
