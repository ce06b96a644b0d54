"""What a support agent sees of real inbound mail, and the headers our replies carry (no database needed)."""

# ruff: noqa: RUF001 -- en dashes and typographic quotes are the point of the charset fixtures
import email
import email.policy
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tickets.email_parsing import (
    REFERENCES_LIMIT,
    InboundEmail,
    auto_reply_headers,
    html_to_text,
    make_message_id,
    normalize_message_id,
    parse_email,
    reply_headers,
    sanitize_html,
    strip_quoted_text,
    thread_candidates,
    ticket_token_format,
    ticket_token_parse,
)

EMAILS = Path(__file__).parent / "emails"
FIXTURES = sorted(EMAILS.glob("*.eml"))


def load(name: str) -> InboundEmail:
    return parse_email((EMAILS / name).read_bytes())


def test_fixtures_are_real_mail_with_crlf_line_ends():
    assert len(FIXTURES) >= 11
    for path in FIXTURES:
        raw = path.read_bytes()
        assert b"\r\n" in raw
        assert raw.count(b"\n") == raw.count(b"\r\n"), path.name
        for header in (b"Received:", b"Message-I", b"Date:", b"From:", b"To:", b"Subject:", b"MIME-Version:"):
            assert header.lower() in raw.lower(), (path.name, header)


# --- One fixture at a time -------------------------------------------------------------------------------------


def test_new_plain_question():
    mail = load("new_plain.eml")

    assert mail.message_id == "CAF3xY9q7Qm1Lk2a0NEW=xq4@mail.gmail.com"
    assert mail.from_address == "jane.doe@example.com"
    assert mail.from_name == "Jane Doe"
    assert mail.to == ("support@acme.helpdesk.example",)
    assert mail.subject == "Printer in room 4 shows error E-42"
    assert mail.date == datetime(2025, 3, 3, 9, 14, 2, tzinfo=UTC)
    assert mail.date.tzinfo is not None
    assert mail.text.startswith("Hello,\n\nsince this morning the printer in room 4 shows error E-42")
    assert mail.reply_text == mail.text
    assert mail.html_sanitized == ""
    assert mail.attachments == ()
    assert (mail.is_auto_reply, mail.is_bounce, mail.auto_reason) == (False, False, "")
    assert mail.ticket_token == ""
    assert thread_candidates(mail) == []


def test_gmail_reply_without_the_quote():
    mail = load("reply_gmail.eml")

    assert mail.reply_text == (
        "Thanks, the error is gone after the firmware update.\nOnly the duplex unit still jams.\n\nJane"
    )
    assert "> please install firmware" in mail.text  # the full text keeps the history
    assert mail.in_reply_to == "1042.2.4be01d@acme.helpdesk.example"
    assert mail.references == (
        "CAF3xY9q7Qm1Lk2a0NEW=xq4@mail.gmail.com",
        "1042.1.9f3c2a@acme.helpdesk.example",
        "1042.2.4be01d@acme.helpdesk.example",
    )
    assert (mail.is_auto_reply, mail.is_bounce) == (False, False)
    assert ticket_token_parse(mail.subject) == ("acme", 1042)
    assert mail.ticket_token == "[acme #1042]"


def test_gmail_reply_html_part_is_sanitized_and_its_quote_recognised():
    mail = load("reply_gmail.eml")

    assert "Only the duplex unit still jams." in mail.html_sanitized
    assert "style=" not in mail.html_sanitized
    assert "class=" not in mail.html_sanitized
    html = email.message_from_bytes((EMAILS / "reply_gmail.eml").read_bytes(), policy=email.policy.default)
    html_part = html.get_body(preferencelist=("html",)).get_content()
    reply = strip_quoted_text(html_to_text(html_part, drop_quoted=True))
    assert reply == "Thanks, the error is gone after the firmware update.\nOnly the duplex unit still jams.\n\nJane"


def test_thread_candidates_in_reply_to_first_then_references_newest_first():
    assert thread_candidates(load("reply_gmail.eml")) == [
        "1042.2.4be01d@acme.helpdesk.example",
        "1042.1.9f3c2a@acme.helpdesk.example",
        "CAF3xY9q7Qm1Lk2a0NEW=xq4@mail.gmail.com",
    ]
    mail = InboundEmail(in_reply_to="c@x", references=("a@x", "b@x", "c@x"))
    assert thread_candidates(mail) == ["c@x", "b@x", "a@x"]


def test_outlook_html_reply_in_windows_1252():
    mail = load("reply_outlook.eml")

    assert mail.from_name == "Peter O'Brien"
    assert mail.reply_text == (
        "Hello Sam,\n\nthe corrected invoice still says €1,190 and the VAT ID “DE123456789” – it should be "
        "DE987654321.\n\nBest regards\nPeter"
    )
    # HTML-only: text is derived from the HTML, with the quote still in it and without the CSS.
    assert "we have corrected the invoice" in mail.text
    assert "Sent: Wednesday, 5 March 2025 14:20" in mail.text
    assert "MsoNormal" not in mail.text
    assert "€1,190" in mail.html_sanitized
    assert "<style" not in mail.html_sanitized
    assert "class=" not in mail.html_sanitized
    assert mail.ticket_token == "[acme #1043]"
    assert thread_candidates(mail) == ["1043.1.77aa01@acme.helpdesk.example"]
    assert not mail.is_auto_reply


def test_reply_found_by_subject_token_only():
    mail = load("reply_token_only.eml")

    assert thread_candidates(mail) == []
    assert mail.subject == "AW: Printer in room 4 shows error E-42 [acme #1042]"
    assert mail.ticket_token == "[acme #1042]"
    assert ticket_token_parse(mail.subject) == ("acme", 1042)
    assert mail.reply_text == (
        "Hallo Sam,\n\nder Drucker geht wieder, danke! Die Duplex-Einheit klemmt aber noch.\n\nViele Grüße\nJane"
    )


def test_forward_keeps_the_forwarded_mail_and_its_attachment():
    mail = load("forward.eml")

    # The forwarded message is what the ticket is about, so nothing is stripped as "quoted history".
    assert 'since yesterday I get "invalid token"' in mail.reply_text
    assert mail.reply_text.startswith("Hi support,")
    assert mail.cc == ("max@globex.example",)
    [screenshot] = mail.attachments
    assert (screenshot.filename, screenshot.content_type, screenshot.size) == ("login-error.png", "image/png", 70)
    assert screenshot.payload.startswith(b"\x89PNG\r\n")
    assert (mail.is_auto_reply, mail.is_bounce) == (False, False)


def test_german_out_of_office_is_an_auto_reply():
    mail = load("auto_reply_ooo.eml")

    assert mail.is_auto_reply
    assert not mail.is_bounce
    assert mail.auto_reason == "Auto-Submitted: auto-replied"
    assert mail.subject == "Abwesenheitsnotiz: Re: Printer in room 4 shows error E-42 [acme #1042]"
    assert "nicht im Büro" in mail.text
    assert thread_candidates(mail) == ["1042.3.c0ffee@acme.helpdesk.example"]


def test_bounce_from_mailer_daemon():
    mail = load("bounce.eml")

    assert mail.is_bounce
    assert mail.is_auto_reply  # every bounce is machine mail: checking is_auto_reply alone avoids loops
    assert mail.auto_reason == "multipart/report; report-type=delivery-status"
    assert mail.from_address == "mailer-daemon@mx1.helpdesk.example"
    assert "<max@globex-typo.example>: Host or domain name not found" in mail.text
    assert "we have reset your session" not in mail.text  # the returned message is not the body
    status, original = mail.attachments
    assert status.content_type == "message/delivery-status"
    assert b"Status: 5.4.4" in status.payload
    assert original.content_type == "message/rfc822"
    assert original.filename.endswith(".eml")
    # The glue finds the failed outbound message by parsing the returned copy.
    returned = parse_email(original.payload)
    assert returned.message_id == "1044.2.deadbeef@acme.helpdesk.example"
    assert returned.ticket_token == "[acme #1044]"


def test_hostile_html_is_defused():
    mail = load("html_only_script.eml")

    html = mail.html_sanitized.lower()
    for forbidden in ("<script", "alert", "onclick", "onload", "onmouseover", "javascript:", "<img", "pixel.gif",
                      "<iframe", "<form", "<input", "<button", "<style", "color:red", "<title"):  # fmt: skip
        assert forbidden not in html, forbidden
    assert '<a href="https://example.com/help" rel="noopener noreferrer nofollow">our help page</a>' in html
    assert "Please reset my password, I am locked out." in mail.html_sanitized
    assert mail.text == "Please reset my password, I am locked out.\n\nClick here or see our help page & FAQ."
    assert "alert" not in mail.text


def test_latin1_body_and_encoded_words():
    mail = load("non_utf8_latin1.eml")

    assert mail.from_name == "Jürgen Müller"
    assert mail.from_address == "j.mueller@beispiel.example"
    assert mail.subject == "Rechnung für März ist fehlerhaft – bitte prüfen"
    assert "die Rechnung für März enthält einen Fehler" in mail.text
    assert mail.text.endswith("Mit freundlichen Grüßen\nJürgen Müller")


def test_wrong_charset_label_falls_back_to_windows_1252():
    mail = load("wrong_charset.eml")

    assert "Bestellung 8812 – wir erhalten 5 € Rabatt laut „Angebot“." in mail.text
    assert "\ufffd" not in mail.text
    assert mail.text.endswith("Grüße\nKaffee Info")


def test_unknown_charset_does_not_raise():
    raw = (
        b"From: a@example.com\r\nSubject: =?x-unknown?Q?Gr=FC=DFe?= hallo\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: text/plain; charset=x-unknown\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        b"Gr\xfc\xdfe \x81\x8d\r\n"
    )
    mail = parse_email(raw)

    assert mail.from_address == "a@example.com"
    assert "hallo" in mail.subject
    assert mail.text.startswith("Gr")


def test_pdf_attachment():
    mail = load("attachment_pdf.eml")

    assert mail.text.startswith("Hello,\n\nplease find the signed amendment attached.")
    [pdf] = mail.attachments
    assert pdf.filename == "Vertrag März 2025.pdf"  # RFC 2231 filename* decoded
    assert pdf.content_type == "application/pdf"
    assert pdf.payload.startswith(b"%PDF-1.4")
    assert pdf.payload.rstrip().endswith(b"%%EOF")
    assert pdf.size == len(pdf.payload) == 210


def test_attachment_filenames_never_carry_paths():
    raw = (
        b"From: a@example.com\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
        b"Content-Type: text/plain\r\n\r\nsee attached\r\n--b\r\nContent-Type: application/octet-stream\r\n"
        b'Content-Disposition: attachment; filename="../../etc/passwd"\r\n\r\nroot\r\n--b\r\n'
        b"Content-Type: application/octet-stream\r\nContent-Disposition: attachment\r\n\r\nx\r\n--b--\r\n"
    )
    assert [a.filename for a in parse_email(raw).attachments] == ["passwd", "attachment-2.bin"]


# --- Auto-replies and bounces by header ------------------------------------------------------------------------


def _with(headers: str, subject: str = "Question", body: str = "Hello") -> bytes:
    return (
        f"From: Someone <someone@example.com>\r\nTo: support@acme.helpdesk.example\r\nSubject: {subject}\r\n"
        f"Message-ID: <x1@example.com>\r\n{headers}MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\n{body}\r\n"
    ).encode()


@pytest.mark.parametrize(
    ("headers", "subject", "reason"),
    [
        ("Auto-Submitted: auto-generated\r\n", "Question", "Auto-Submitted: auto-generated"),
        ("X-Autoreply: yes\r\n", "Question", "X-Autoreply: yes"),
        ("X-Autorespond: vacation\r\n", "Question", "X-Autorespond: vacation"),
        ("X-Auto-Response-Suppress: DR, OOF\r\n", "Question", "X-Auto-Response-Suppress: DR, OOF"),
        ("Precedence: bulk\r\n", "Question", "Precedence: bulk"),
        ("Precedence: list\r\nList-Id: <customers.lists.example>\r\n", "Question", "Precedence: list"),
        ("List-Id: <x.lists.example>\r\nPrecedence: first-class\r\n", "Q", "List-Id with Precedence: first-class"),
        ("Return-Path: <>\r\n", "Question", "Return-Path: <> (null sender)"),
        ("", "Out of Office: Question", "Subject: Out of Office"),
        ("", "Automatic reply: Question", "Subject: Automatic reply"),
        ("", "Abwesenheitsnotiz: Frage", "Subject: Abwesenheitsnotiz"),
    ],
)
def test_auto_reply_signals(headers, subject, reason):
    mail = parse_email(_with(headers, subject))

    assert (mail.is_auto_reply, mail.is_bounce, mail.auto_reason) == (True, False, reason)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (_with("", "Undeliverable: Question"), "Subject: Undeliverable"),
        (_with("", "Delivery Status Notification (Failure)"), "Subject: Delivery Status Notification (Failure)"),
        (_with("").replace(b"someone@example.com", b"postmaster@example.com"), "postmaster sender"),
        (_with("").replace(b"someone@example.com", b"MAILER-DAEMON@example.com"), "MAILER-DAEMON sender"),
    ],
)
def test_bounce_signals(raw, reason):
    mail = parse_email(raw)

    assert (mail.is_auto_reply, mail.is_bounce, mail.auto_reason) == (True, True, reason)


@pytest.mark.parametrize(
    ("headers", "subject"),
    [
        ("Auto-Submitted: no\r\n", "Question"),
        ("List-Id: <customers.lists.example>\r\n", "Question"),  # a mailing list alone is people writing
        ("X-Auto-Response-Suppress: RN, NRN\r\n", "Question"),  # only asks not to get receipts
        ("", "Re: our out of office policy"),  # the words somewhere in a subject are not a signal
    ],
)
def test_people_are_not_machines(headers, subject):
    mail = parse_email(_with(headers, subject))

    assert (mail.is_auto_reply, mail.is_bounce, mail.auto_reason) == (False, False, "")


def test_normal_replies_are_neither_auto_nor_bounce():
    for name in ("new_plain.eml", "reply_gmail.eml", "reply_outlook.eml", "reply_token_only.eml", "forward.eml"):
        mail = load(name)
        assert (mail.is_auto_reply, mail.is_bounce, mail.auto_reason) == (False, False, ""), name


# --- Quoted history --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Works now.\n\nOn Mon, 3 Mar 2025, 10:00 Sam <s@x.example> wrote:\n> old\n",
        "Works now.\n\nAm Mo., 3. März 2025 um 10:00 Uhr schrieb Sam <s@x.example>:\n> alt\n",
        "Works now.\n\n-----Original Message-----\nFrom: Sam\nSent: Monday\nold\n",
        "Works now.\n\n________________________________\nVon: Sam <s@x.example>\nGesendet: Montag, 3. März 2025\nalt\n",
        "Works now.\n> old line one\n> old line two\n",
    ],
)
def test_quoted_history_forms(text):
    assert strip_quoted_text(text) == "Works now."


def test_inline_answers_between_quotes_survive():
    text = "On Mon, 3 Mar 2025 Sam wrote:\n> Which model?\nThe X200.\n> Since when?\nSince Monday.\n"

    assert strip_quoted_text(text) == "The X200.\nSince Monday."


def test_html_quote_containers():
    html = (
        "<p>New text</p><blockquote type='cite'><p>old</p></blockquote>"
        '<div class="gmail_quote"><div>On ... wrote:</div><div>older</div></div><p>after</p>'
    )
    assert html_to_text(html, drop_quoted=True) == "New text\n\nafter"
    assert "old" in html_to_text(html)
    outlook_web = '<div>Sure.</div><div id="appendonsend"></div><hr><div id="divRplyFwdMsg">From: x</div><p>old</p>'
    assert html_to_text(outlook_web, drop_quoted=True) == "Sure."


def test_html_to_text_keeps_structure_and_decodes_entities():
    html = (
        "<h1>Title</h1><p>A&nbsp;&amp;&#32;B &lt;ok&gt;</p><ul><li>one</li><li>two</li></ul>x<br>y<pre>  a\n  b</pre>"
    )

    assert html_to_text(html) == "Title\n\nA & B <ok>\n\n- one\n- two\n\nx\ny\n\n  a\n  b"


def test_sanitize_html_allow_list():
    assert sanitize_html("") == ""
    cleaned = sanitize_html(
        '<h2 style="x">Hi</h2><table><tr><td colspan="2" onclick="x">c</td></tr></table>'
        '<a href="mailto:a@example.com">mail</a><a href="/admin/">rel</a><a href="data:text/html,x">d</a>'
        '<img src="https://example.com/a.png"><svg><script>x</script></svg>'
    )
    assert '<h2>Hi</h2><table><tbody><tr><td colspan="2">c</td></tr></tbody></table>' in cleaned
    assert '<a href="mailto:a@example.com" rel="noopener noreferrer nofollow">mail</a>' in cleaned
    assert "/admin/" not in cleaned
    assert "data:" not in cleaned
    assert "<img" not in cleaned
    assert "<svg" not in cleaned


# --- Ticket tokens ---------------------------------------------------------------------------------------------


def test_ticket_token_round_trip():
    token = ticket_token_format(number=1234, organization_slug="acme")

    assert token == "[acme #1234]"
    assert ticket_token_parse(f"Re: AW: Fwd: Printer broken {token}") == ("acme", 1234)
    assert ticket_token_parse("[ACME #1234] shouting") == ("acme", 1234)
    assert ticket_token_format(number=7, organization_slug="North-Wind_2") == "[north-wind_2 #7]"


@pytest.mark.parametrize(
    "subject",
    ["[#abc]", "#1234", "Order #1234", "[#1234]", "[acme#1234]", "[acme #abc]", "[acme #0]", "acme #1234", ""],
)
def test_ticket_token_look_alikes_are_ignored(subject):
    assert ticket_token_parse(subject) is None


def test_ticket_token_per_organization():
    subject = "Re: Fwd: Printer [globex #7] [acme #1042]"

    assert ticket_token_parse(subject) == ("globex", 7)
    assert ticket_token_parse(subject, organization_slug="acme") == ("acme", 1042)
    assert ticket_token_parse(subject, organization_slug="initech") is None


@pytest.mark.parametrize(("number", "slug"), [(0, "acme"), (-1, "acme"), (True, "acme"), (1, "a b"), (1, "")])
def test_ticket_token_format_rejects_what_it_could_not_parse_back(number, slug):
    with pytest.raises(ValueError, match=r"ticket|slug"):
        ticket_token_format(number=number, organization_slug=slug)


# --- Outbound headers ------------------------------------------------------------------------------------------


def test_make_message_id_is_bare_and_unique():
    first, second = make_message_id("acme.helpdesk.example"), make_message_id("acme.helpdesk.example")

    assert first != second
    assert first.endswith("@acme.helpdesk.example")
    assert "<" not in first
    with pytest.raises(ValueError, match="domain"):
        make_message_id("bad domain\r\nBcc: x@y")


def test_human_reply_headers():
    headers = reply_headers(
        ticket_message_ids=["root@customer.example", "<1042.1@acme.helpdesk.example>", "1042.2@customer.example"],
        last_message_id="1042.2@customer.example",
        domain="acme.helpdesk.example",
    )

    assert headers["Message-ID"].startswith("<")
    assert headers["Message-ID"].endswith("@acme.helpdesk.example>")
    assert headers["In-Reply-To"] == "<1042.2@customer.example>"
    assert headers["References"] == "<root@customer.example> <1042.1@acme.helpdesk.example> <1042.2@customer.example>"
    assert "Auto-Submitted" not in headers
    assert "X-Auto-Response-Suppress" not in headers


def test_reply_headers_put_the_parent_last_and_keep_a_given_message_id():
    own = make_message_id("acme.helpdesk.example")
    headers = reply_headers(
        ticket_message_ids=["a@x", "b@x", "c@x"],
        last_message_id="<b@x>",
        domain="acme.helpdesk.example",
        message_id=own,
    )

    assert headers["Message-ID"] == f"<{own}>"
    assert headers["In-Reply-To"] == "<b@x>"
    assert headers["References"] == "<a@x> <c@x> <b@x>"
    assert normalize_message_id(headers["Message-ID"]) == own


def test_references_keep_the_root_and_the_most_recent():
    ids = [f"m{number}@x" for number in range(50)]
    headers = reply_headers(ticket_message_ids=ids, last_message_id="m49@x", domain="acme.helpdesk.example")
    references = headers["References"].split(" ")

    assert len(references) == REFERENCES_LIMIT + 1
    assert references[0] == "<m0@x>"
    assert references[1:] == [f"<m{number}@x>" for number in range(30, 50)]


def test_references_fold_between_ids_when_sent():
    ids = [f"{number}.0123456789abcdef@acme.helpdesk.example" for number in range(20)]
    message = EmailMessage()
    for name, value in reply_headers(
        ticket_message_ids=ids, last_message_id=ids[-1], domain="acme.helpdesk.example"
    ).items():
        message[name] = value
    message.set_content("Hi")
    lines = message.as_bytes().split(b"\n\n", 1)[0].split(b"\n")

    assert all(len(line) <= 78 for line in lines)
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert parse_email(message.as_bytes()).references == tuple(ids)
    assert str(parsed["In-Reply-To"]) == f"<{ids[-1]}>"


def test_invalid_stored_ids_are_not_written_into_headers():
    headers = reply_headers(
        ticket_message_ids=["ok@x", "", "evil\r\nBcc: victim@example.com"],
        last_message_id="",
        domain="acme.helpdesk.example",
    )

    assert headers["References"] == "<ok@x>"
    assert "In-Reply-To" not in headers
    assert all("\n" not in value for value in headers.values())


def test_auto_reply_headers_stop_loops():
    headers = auto_reply_headers(
        ticket_message_ids=["q@customer.example"], last_message_id="q@customer.example", domain="acme.helpdesk.example"
    )

    assert headers["Auto-Submitted"] == "auto-replied"
    assert headers["X-Auto-Response-Suppress"] == "All"
    assert headers["In-Reply-To"] == "<q@customer.example>"
    assert headers["References"] == "<q@customer.example>"
    # Our own automatic reply, if it came back to us, would be recognised as machine mail.
    echoed = "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    assert parse_email(_with(echoed)).is_auto_reply


# --- Garbage in, empty InboundEmail out ------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [b"", b"not an email", b"\x00\xff\xfe" * 50, b"\r\n\r\n", b"From:\r\nTo: <\r\n"])
def test_garbage_gives_empty_fields(raw):
    mail = parse_email(raw)

    assert isinstance(mail, InboundEmail)
    assert (mail.message_id, mail.from_address, mail.subject, mail.in_reply_to) == ("", "", "", "")
    assert (mail.references, mail.to, mail.attachments, mail.date) == ((), (), (), None)
    assert (mail.is_auto_reply, mail.is_bounce, mail.ticket_token) == (False, False, "")


def test_message_cut_in_the_middle_of_a_mime_part():
    raw = (EMAILS / "attachment_pdf.eml").read_bytes()
    cut = raw[: raw.index(b"Content-Transfer-Encoding: base64") + 60]
    mail = parse_email(cut)

    assert mail.subject == "Signed contract amendment"
    assert mail.text.startswith("Hello,")
    assert len(mail.attachments) == 1


def assert_storable(mail: InboundEmail) -> None:
    """Every text field is valid Unicode (no lone surrogates), as a database column needs."""
    assert isinstance(mail, InboundEmail)
    values = [getattr(mail, name) for name in mail.__dataclass_fields__]
    texts = [value for value in values if isinstance(value, str)]
    texts += [item for value in values if isinstance(value, tuple) for item in value if isinstance(item, str)]
    texts += [attachment.filename for attachment in mail.attachments]
    for text in texts:
        text.encode("utf-8")


@pytest.mark.parametrize("path", FIXTURES, ids=lambda path: path.name)
def test_every_truncation_of_every_fixture_parses(path):
    raw = path.read_bytes()
    for end in range(0, len(raw), 7):
        assert_storable(parse_email(raw[:end]))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_never_raise(raw):
    assert_storable(parse_email(raw))


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=300), st.sampled_from(["utf-8", "latin-1"]))
def test_raw_8bit_headers_are_decoded_not_kept_as_surrogates(text, charset):
    raw = f"From: {text} <x@example.com>\r\nSubject: {text}\r\nContent-Type: text/html\r\n\r\n{text}"
    assert_storable(parse_email(raw.encode(charset, errors="replace")))


@pytest.mark.parametrize("charset", ["utf-8", "latin-1"])
def test_raw_8bit_headers(charset):
    raw = "From: Jürgen Müller <J@X.example>\r\nSubject: Grüße aus Köln [acme #5]\r\n\r\nHallo\r\n"
    mail = parse_email(raw.encode(charset))

    assert (mail.from_name, mail.from_address) == ("Jürgen Müller", "j@x.example")
    assert mail.subject == "Grüße aus Köln [acme #5]"
    assert mail.ticket_token == "[acme #5]"


def test_dates_are_aware():
    assert parse_email(_with("Date: Mon, 3 Mar 2025 10:00:00 -0000\r\n")).date == datetime(2025, 3, 3, 10, tzinfo=UTC)
    date = parse_email(_with("Date: Mon, 3 Mar 2025 10:00:00 +0530\r\n")).date
    assert date.tzinfo == timezone(timedelta(hours=5, minutes=30))
    assert parse_email(_with("Date: yesterday-ish\r\n")).date is None
