"""The email side of the support inbox: parse inbound mail, recognise threads and machines, build reply headers.

Pure Python on the stdlib `email` package and nh3; no models. The glue that stores tickets calls:

- `parse_email(raw)` -> `InboundEmail`, which never raises, whatever the bytes.
- `thread_candidates(email)`: Message-IDs to look up, most specific first; when none matches,
  `email.ticket_token` / `ticket_token_parse(subject, organization_slug=...)` finds the ticket from the subject.
- `reply_headers(...)` for replies written by people, `auto_reply_headers(...)` for messages the system sends on
  its own (they carry Auto-Submitted so other robots don't answer them, RFC 3834).

Conventions: Message-IDs are passed around bare ("abc@example.com", no angle brackets, case kept); the angle
brackets only appear in header values. Ticket tokens look like "[acme #1042]": organization slug, one space, "#",
the ticket number, in square brackets.
"""

import codecs
import email
import email.header
import email.policy
import mimetypes
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime
from html.parser import HTMLParser

import nh3

__all__ = [
    "REFERENCES_LIMIT",
    "Attachment",
    "InboundEmail",
    "auto_reply_headers",
    "html_to_text",
    "make_message_id",
    "normalize_message_id",
    "parse_email",
    "reply_headers",
    "sanitize_html",
    "strip_quoted_text",
    "thread_candidates",
    "ticket_token_format",
    "ticket_token_parse",
]


@dataclass(frozen=True)
class Attachment:
    """A non-body MIME part: `filename` is a bare, printable file name (never a path); `size` is len(payload)."""

    filename: str
    content_type: str
    size: int
    payload: bytes = field(repr=False)


@dataclass(frozen=True)
class InboundEmail:
    """One parsed inbound message; every field has an empty default so a garbage message is still an InboundEmail."""

    message_id: str = ""
    in_reply_to: str = ""
    references: tuple[str, ...] = ()
    from_address: str = ""
    from_name: str = ""
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    subject: str = ""
    date: datetime | None = None
    text: str = ""
    html_sanitized: str = ""
    reply_text: str = ""
    attachments: tuple[Attachment, ...] = ()
    is_auto_reply: bool = False
    is_bounce: bool = False
    auto_reason: str = ""
    ticket_token: str = ""


# --- Ticket tokens ---------------------------------------------------------------------------------------------

# Slugs as Django's SlugField allows them, lower-cased; the number is a positive integer. One or more spaces are
# tolerated because some clients re-fold subjects; "[acme#12]", "[#12]" and "#12" are deliberately not tokens.
_SLUG_RE = re.compile(r"[a-z0-9][a-z0-9_-]{0,59}")
_TOKEN_RE = re.compile(r"\[([a-z0-9][a-z0-9_-]{0,59})\s+#(\d{1,12})\]", re.IGNORECASE)


def ticket_token_format(*, number: int, organization_slug: str) -> str:
    """The subject token of a ticket: "[acme #1042]" (slug lower-cased, number positive)."""
    slug = organization_slug.strip().lower()
    if not _SLUG_RE.fullmatch(slug):
        raise ValueError(f"not a slug usable in a ticket token: {organization_slug!r}")
    if isinstance(number, bool) or not isinstance(number, int) or number <= 0:
        raise ValueError(f"ticket numbers are positive integers, not {number!r}")
    return f"[{slug} #{number}]"


def ticket_token_parse(subject: str, *, organization_slug: str | None = None) -> tuple[str, int] | None:
    """(slug, number) of the first token anywhere in `subject`, or None.

    With `organization_slug`, only that organization's token counts: a subject can carry two tokens when two
    tenants' helpdesks forwarded the same conversation, and each inbox must pick its own.
    """
    wanted = organization_slug.strip().lower() if organization_slug is not None else None
    for match in _TOKEN_RE.finditer(subject or ""):
        slug, number = match.group(1).lower(), int(match.group(2))
        if number > 0 and (wanted is None or slug == wanted):
            return slug, number
    return None


# --- Message-IDs and outbound headers --------------------------------------------------------------------------

REFERENCES_LIMIT = 20
"""References keeps the first id (the thread root) plus this many of the most recent ones."""

_BRACKETED_ID_RE = re.compile(r"<([^<>\s]+)>")
_BARE_ID_RE = re.compile(r"[^<>\s\"(),;:\\\[\]]+@[^<>\s\"(),;:\\\[\]@]+")
_STORED_ID_RE = re.compile(r"[^<>\s\x00-\x1f\x7f]+@[^<>\s\x00-\x1f\x7f@]+")  # nothing that could break a header
_DOMAIN_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")


def _message_ids(value: str) -> list[str]:
    """Every Message-ID in a header value, in order; bare "id@host" tokens count when no brackets are used."""
    found = _BRACKETED_ID_RE.findall(value or "")
    if found:
        return found
    # Some clients (and hand-written scripts) omit the angle brackets; keep what still looks like an id.
    return [token for token in (value or "").split() if _BARE_ID_RE.fullmatch(token)]


def normalize_message_id(value: str) -> str:
    """The first Message-ID in `value` without angle brackets and whitespace (case kept), or ""."""
    ids = _message_ids(value)
    return ids[0] if ids else ""


def _stored_id(value: str) -> str:
    """A Message-ID given to us as one value ("id@host" or "<id@host>"), or "" when it is anything else."""
    value = (value or "").strip()
    if value.startswith("<") and value.endswith(">"):
        value = value[1:-1]
    return value if _STORED_ID_RE.fullmatch(value) else ""


def make_message_id(domain: str) -> str:
    """A new bare Message-ID "<uuid4>@<domain>"; wrap it in <> only inside a header."""
    if not _DOMAIN_RE.fullmatch(domain or ""):
        raise ValueError(f"not a mail domain: {domain!r}")
    return f"{uuid.uuid4()}@{domain}"


def _dedupe(values: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    return [value for value in values if value and not (value in seen or seen.add(value))]


def reply_headers(
    *, ticket_message_ids: Sequence[str], last_message_id: str, domain: str, message_id: str = ""
) -> dict[str, str]:
    """Message-ID, In-Reply-To and References for a reply written by a person (so: no Auto-Submitted).

    `ticket_message_ids` are the ticket's known ids, oldest first; `last_message_id` is the message answered and
    ends up last in References. References keeps the first id plus the REFERENCES_LIMIT most recent ones, joined
    by single spaces so the generator folds between ids, never inside one. Pass `message_id` (from
    make_message_id) when the caller must store the new id before sending.
    """
    own_id = _stored_id(message_id) or make_message_id(domain)
    parent = _stored_id(last_message_id)
    # Ids come from inbound headers; anything that is not one clean id is dropped rather than written out.
    known = [_stored_id(value) for value in ticket_message_ids]
    ids = [value for value in _dedupe(known) if value not in (parent, own_id)]
    if parent:
        ids.append(parent)  # the parent goes last: clients thread on the last reference
    if len(ids) > REFERENCES_LIMIT + 1:
        ids = [ids[0], *ids[-REFERENCES_LIMIT:]]
    headers = {"Message-ID": f"<{own_id}>"}
    if parent:
        headers["In-Reply-To"] = f"<{parent}>"
    if ids:
        headers["References"] = " ".join(f"<{value}>" for value in ids)
    return headers


def auto_reply_headers(
    *, ticket_message_ids: Sequence[str] = (), last_message_id: str = "", domain: str, message_id: str = ""
) -> dict[str, str]:
    """reply_headers plus Auto-Submitted: auto-replied and X-Auto-Response-Suppress: All, for messages no person wrote.

    Out-of-hours answers and redirects must say so, or the customer's own autoresponder answers them and the two
    robots mail each other forever.
    """
    headers = reply_headers(
        ticket_message_ids=ticket_message_ids, last_message_id=last_message_id, domain=domain, message_id=message_id
    )
    headers["Auto-Submitted"] = "auto-replied"
    headers["X-Auto-Response-Suppress"] = "All"
    return headers


def thread_candidates(email: InboundEmail) -> list[str]:
    """Message-IDs to look a thread up by, most specific first: In-Reply-To, then References last to first."""
    return _dedupe([email.in_reply_to, *reversed(email.references)])


# --- HTML ------------------------------------------------------------------------------------------------------

# Images are dropped entirely: remote ones are tracking pixels that tell the sender when and where an agent read
# the mail, and inline (cid:) ones are in `attachments` anyway.
_ALLOWED_TAGS = {
    "p", "br", "div", "span", "hr", "ul", "ol", "li", "b", "strong", "i", "em", "u", "a", "blockquote", "pre",
    "code", "table", "thead", "tbody", "tr", "th", "td", "h1", "h2", "h3", "h4",
}  # fmt: skip
# These lose their content too: script/style text would otherwise show up as words in the ticket, and a form's
# labels and buttons ("Log in") only make sense as the phishing they usually are.
_CLEARED_TAGS = {"script", "style", "title", "iframe", "object", "embed", "noscript", "template", "form", "button",
                 "textarea", "select", "svg", "math"}  # fmt: skip
_SANITIZER = nh3.Cleaner(
    tags=_ALLOWED_TAGS,
    clean_content_tags=_CLEARED_TAGS,
    attributes={"a": {"href", "title"}, "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}, "ol": {"start"}},
    link_rel="noopener noreferrer nofollow",
    url_schemes={"http", "https", "mailto"},
    # A relative link in an email has no base, so it would point into our own app: drop it.
    url_relative="deny",
    strip_comments=True,
)


def sanitize_html(html: str) -> str:
    """Allow-list HTML for showing to agents: text structure, tables and http(s)/mailto links only.

    Removed: scripts, styles, event handlers, iframes, forms and their fields, images, all classes and inline styles.
    Links get rel="noopener noreferrer nofollow".
    """
    if not html:
        return ""
    return _SANITIZER.clean(html).strip()


_LINE_TAGS = {"div", "li", "tr", "dd", "dt", "address", "section", "article", "header", "footer"}
_PARAGRAPH_TAGS = {"p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table", "ul", "ol", "hr", "dl"}
_VOID_TAGS = {"br", "hr", "img", "meta", "link", "input", "area", "base", "col", "embed", "source", "track", "wbr"}
# What the sanitizer drops with its content is not text either; a void tag has no end to stop skipping at.
_SKIPPED_CONTENT = _CLEARED_TAGS - _VOID_TAGS
# Markers of quoted history in HTML: Gmail, Thunderbird, Yahoo and Apple Mail wrap the quote in an element, Outlook
# on the web puts one of these ids right before it.
_QUOTE_CLASSES = {"gmail_quote", "moz-cite-prefix", "yahoo_quoted", "protonmail_quote"}
_QUOTE_STOP_IDS = {"appendonsend", "divRplyFwdMsg", "stopSpelling"}


class _TextExtractor(HTMLParser):
    def __init__(self, *, drop_quoted: bool) -> None:
        super().__init__(convert_charrefs=True)
        self.drop_quoted = drop_quoted
        self.parts: list[str] = []
        self.skip_tag = ""
        self.skip_depth = 0
        self.pre_depth = 0
        self.stopped = False

    def _newline(self, count: int) -> None:
        """End the current line (count=1) or paragraph (count=2) unless the output already does."""
        tail = "".join(self.parts[-2:])
        missing = count - (len(tail) - len(tail.rstrip("\n")))
        if self.parts and missing > 0:
            self.parts.append("\n" * missing)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.stopped:
            return
        if self.skip_tag:
            # Count nested elements of the same name so the skip ends at the matching close tag.
            self.skip_depth += tag == self.skip_tag
            return
        if tag in _SKIPPED_CONTENT:
            self.skip_tag, self.skip_depth = tag, 1
            return
        if self.drop_quoted:
            values = {name: value or "" for name, value in attrs}
            if values.get("id") in _QUOTE_STOP_IDS:
                self.stopped = True
                return
            quoted = _QUOTE_CLASSES & set(values.get("class", "").split())
            if tag not in _VOID_TAGS and (quoted or (tag == "blockquote" and values.get("type") == "cite")):
                self.skip_tag, self.skip_depth = tag, 1
                return
        if tag == "pre":
            self.pre_depth += 1
        if tag == "br":
            self.parts.append("\n")  # every <br> counts: two of them are a blank line
        elif tag == "li":
            self._newline(1)
            self.parts.append("- ")
        elif tag in ("td", "th"):
            self.parts.append(" ")
        elif tag in _PARAGRAPH_TAGS:
            self._newline(2)
        elif tag in _LINE_TAGS:
            self._newline(1)

    def handle_endtag(self, tag: str) -> None:
        if self.stopped:
            return
        if self.skip_tag:
            if tag == self.skip_tag:
                self.skip_depth -= 1
                if self.skip_depth <= 0:
                    self.skip_tag = ""
            return
        if tag == "pre":
            self.pre_depth = max(0, self.pre_depth - 1)
        if tag in _PARAGRAPH_TAGS:
            self._newline(2)
        elif tag in _LINE_TAGS:
            self._newline(1)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        # "<br/>" is one line break, not a start and an end.
        self.handle_starttag(tag, attrs)
        if tag not in _VOID_TAGS:
            self.handle_endtag(tag)

    def handle_data(self, data: str) -> None:
        if self.stopped or self.skip_tag:
            return
        if self.pre_depth:
            self.parts.append(data)
            return
        text = re.sub(r"\s+", " ", data)  # also turns &nbsp; into a plain space
        if not self.parts or self.parts[-1][-1:].isspace():
            text = text.lstrip()
        if text:
            self.parts.append(text)

    def text(self) -> str:
        return _tidy("".join(self.parts))


def _tidy(text: str) -> str:
    """LF line ends, no trailing spaces, at most one blank line in a row, no blank lines around."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")


def html_to_text(html: str, *, drop_quoted: bool = False) -> str:
    """Readable text of HTML: tags stripped, paragraphs and line breaks kept, entities decoded, scripts/styles gone.

    With drop_quoted, known quote containers (Gmail's gmail_quote, <blockquote type="cite">, Outlook's reply
    separator ids) are left out.
    """
    parser = _TextExtractor(drop_quoted=drop_quoted)
    try:
        parser.feed(html or "")
        parser.close()
    except Exception:  # noqa: S110 -- a broken document still yields the text read so far
        pass
    return parser.text()


# --- Quoted history in plain text ------------------------------------------------------------------------------

# Attribution lines; clients wrap long ones, so they may span up to three lines.
_ATTRIBUTION_STARTS = ("On ", "Am ", "Le ", "El ", "Op ")
_ATTRIBUTION_RES = (
    re.compile(r"On\s.+\swrote\s?:", re.DOTALL),  # English: "On Tue, 4 Mar 2025 at 11:02, Sam <s@x> wrote:"
    re.compile(r"Am\s.+\sschrieb(\s.+)?\s?:", re.DOTALL),  # German: "Am 04.03.2025 um 11:02 schrieb Sam:"
    re.compile(r"Le\s.+\sa écrit\s?:", re.DOTALL),  # French
    re.compile(r"El\s.+\sescribió\s?:", re.DOTALL),  # Spanish
    re.compile(r"Op\s.+\sschreef(\s.+)?\s?:", re.DOTALL),  # Dutch
)
_SEPARATOR_RE = re.compile(
    r"-{2,}\s*(Original Message|Ursprüngliche Nachricht|Message d'origine|Mensaje original|Oorspronkelijk bericht)"
    r"\s*-{2,}",
    re.IGNORECASE,
)
_HEADER_FROM_RE = re.compile(r"\*?(From|Von|De|Van)\s?:\*?\s*\S", re.IGNORECASE)
_HEADER_SENT_RE = re.compile(r"\*?(Sent|Date|Gesendet|Datum|Envoyé|Enviado|Verzonden)\s?:\*?\s*\S", re.IGNORECASE)
_RULE_RE = re.compile(r"_{8,}|-{8,}")


def _is_quoted(line: str) -> bool:
    return line.lstrip().startswith(">")


def _attribution_length(lines: list[str], index: int) -> int:
    """How many lines the attribution starting at `index` spans (1-3), or 0 when there is none."""
    # Attributions are short; the length check also keeps the regexes cheap on huge one-line bodies.
    if len(lines[index]) > 400 or not lines[index].lstrip().startswith(_ATTRIBUTION_STARTS):
        return 0
    joined = ""
    for length in range(1, 4):
        if index + length > len(lines) or not lines[index + length - 1].strip():
            return 0
        joined = f"{joined} {lines[index + length - 1].strip()}".strip()
        if any(pattern.fullmatch(joined) for pattern in _ATTRIBUTION_RES):
            return length
    return 0


def _is_header_block(lines: list[str], index: int) -> bool:
    """An Outlook-style "From: ... / Sent: ..." block: From: followed within four lines by Sent:/Date:."""
    if not _HEADER_FROM_RE.match(lines[index].strip()):
        return False
    return any(_HEADER_SENT_RE.match(line.strip()) for line in lines[index + 1 : index + 5])


def _history_start(lines: list[str]) -> int | None:
    """Index of the first line of quoted history (attribution, separator or header block), or None.

    An attribution followed by quoted lines with answers between them is an inline reply: only the attribution
    goes (the ">" lines are removed later) so the answers survive.
    """
    index = 0
    while index < len(lines):
        stripped = lines[index].strip()
        if _SEPARATOR_RE.fullmatch(stripped):
            return index
        if _is_header_block(lines, index):
            # Outlook puts a rule of underscores right above the block.
            previous = index - 1
            while previous >= 0 and not lines[previous].strip():
                previous -= 1
            return previous if previous >= 0 and _RULE_RE.fullmatch(lines[previous].strip()) else index
        length = _attribution_length(lines, index)
        if length:
            rest = lines[index + length :]
            seen_quote = False
            interleaved = False
            for line in rest:
                if _is_quoted(line):
                    seen_quote = True
                elif line.strip() and seen_quote:
                    interleaved = True
                    break
            if not interleaved:
                return index
            del lines[index : index + length]
            continue
        index += 1
    return None


def strip_quoted_text(text: str) -> str:
    """The new part of a message: drops ">" lines, "On ... wrote:"/"Am ... schrieb ...:" attributions and what
    follows them, "-----Original Message-----" and Outlook "From:/Sent:" blocks and everything after them."""
    lines = (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    start = _history_start(lines)
    if start is not None:
        lines = lines[:start]
    return _tidy("\n".join(line for line in lines if not _is_quoted(line)))


# Subject prefixes; the first one tells a forward (keep everything: the forwarded mail is the point) from a reply.
_PREFIX_RE = re.compile(r"\s*([a-z]{1,6})\s*(?:\[\d+\]|\(\d+\))?\s*:", re.IGNORECASE)
_FORWARD_PREFIXES = {"fwd", "fw", "wg", "tr", "rv", "i"}


def _is_forward(subject: str) -> bool:
    match = _PREFIX_RE.match(subject)
    return bool(match) and match.group(1).lower() in _FORWARD_PREFIXES


# --- Auto-replies and bounces ----------------------------------------------------------------------------------

_BOUNCE_SUBJECT_RE = re.compile(
    r"\s*(undeliverable|undelivered mail|delivery status notification \(failure\)|mail delivery (?:failed|failure)"
    r"|returned mail|failure notice|delivery failure|unzustellbar|nicht zustellbar)",
    re.IGNORECASE,
)
_AUTO_SUBJECT_RE = re.compile(
    r"\s*(out of (?:the )?office|automatic reply|auto(?:matische)?[- ]?(?:reply|antwort|response)|autoreply"
    r"|abwesenheitsnotiz|abwesend|réponse automatique|respuesta automática)",
    re.IGNORECASE,
)
_BOUNCE_SENDERS = {"mailer-daemon": "MAILER-DAEMON sender", "postmaster": "postmaster sender"}


def _short(value: str) -> str:
    return value if len(value) <= 60 else value[:57] + "..."


def _bounce_reason(message: Message, from_address: str, subject: str) -> str:
    content_type = _safe(lambda: message.get_content_type(), "")
    report_type = _safe(lambda: str(message.get_param("report-type") or "").lower(), "")
    if content_type == "multipart/report" and report_type == "delivery-status":
        return "multipart/report; report-type=delivery-status"
    sender = _BOUNCE_SENDERS.get(from_address.partition("@")[0])
    if sender:
        return sender
    match = _BOUNCE_SUBJECT_RE.match(subject)
    return f"Subject: {match.group(1)}" if match else ""


def _auto_reason(message: Message, subject: str) -> str:
    """Why a message was sent by a machine (RFC 3834 and what real autoresponders do), or ""."""
    auto_submitted = _header(message, "Auto-Submitted").lower().split(";")[0].strip()
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {_short(auto_submitted)}"
    autoreply = _header(message, "X-Autoreply")
    if autoreply and autoreply.lower() not in ("no", "false"):
        return f"X-Autoreply: {_short(autoreply)}"
    if _has_header(message, "X-Autorespond"):
        return f"X-Autorespond: {_short(_header(message, 'X-Autorespond'))}".rstrip(": ")
    suppress = _header(message, "X-Auto-Response-Suppress")
    if {token.strip().lower() for token in suppress.split(",")} & {"all", "oof", "autoreply"}:
        return f"X-Auto-Response-Suppress: {_short(suppress)}"
    precedence = _header(message, "Precedence").lower()
    if precedence in ("bulk", "junk", "list"):
        return f"Precedence: {precedence}"
    if precedence and _has_header(message, "List-Id"):
        return f"List-Id with Precedence: {_short(precedence)}"
    content_type = _safe(lambda: message.get_content_type(), "")
    if content_type == "multipart/report":
        report_type = _safe(lambda: str(message.get_param("report-type") or "").lower(), "")
        return f"multipart/report; report-type={report_type}"  # read receipts and other machine reports
    # RFC 5321 reserves the null reverse-path for notifications that must never be answered.
    if _raw_header(message, "Return-Path").strip() == "<>":
        return "Return-Path: <> (null sender)"
    match = _AUTO_SUBJECT_RE.match(subject)
    return f"Subject: {match.group(1)}" if match else ""


# --- Parsing ---------------------------------------------------------------------------------------------------


def _safe[T](function: Callable[[], T], default: T) -> T:
    """function() or default: one broken header or part must not cost the rest of the message."""
    try:
        return function()
    except Exception:
        return default


def _unfold(value: str) -> str:
    """RFC 5322 unfolding, then whitespace runs collapsed: a folded subject reads as one line."""
    return re.sub(r"\s+", " ", value).strip()


def _clean_text(value: str) -> str:
    """`value` without lone surrogates, which the email package uses for raw 8-bit bytes and no database stores.

    The bytes are decoded like a body without charset: UTF-8 (RFC 6532 headers), else Windows-1252.
    """
    if value.isascii():
        return value
    try:
        return _decode_text(value.encode("utf-8", "surrogateescape"), None)
    except UnicodeError:
        return value.encode("utf-8", "replace").decode("utf-8")


def _raw_header(message: Message, name: str) -> str:
    """The first `name` header as received (still folded and RFC 2047-encoded, 8-bit bytes decoded), or ""."""
    wanted = name.lower()
    for key, value in _safe(lambda: list(message.raw_items()), []):
        if key.lower() == wanted:
            return _clean_text(str(value))
    return ""


def _has_header(message: Message, name: str) -> bool:
    return _safe(lambda: name in message, False)


def _decode_words(raw: str) -> str:
    """RFC 2047 decoding without the email policy, for headers the policy choked on."""
    try:
        return str(email.header.make_header(email.header.decode_header(raw)))
    except Exception:
        return raw


def _header(message: Message, name: str) -> str:
    """The first `name` header decoded and unfolded, or ""."""
    raw = _raw_header(message, name)
    if not raw:
        return ""
    if not raw.isascii():
        # Raw 8-bit text: the policy would guess it as UTF-8 with U+FFFD; ours was decoded by _clean_text.
        return _unfold(_decode_words(raw))
    value = _safe(lambda: str(message[name]), "")
    return _unfold(_clean_text(value or _decode_words(raw)))


def _addresses(message: Message, name: str) -> list[tuple[str, str]]:
    """(display name, lower-cased address) pairs of every `name` header."""

    def parsed() -> list[tuple[str, str]]:
        result = []
        for header in message.get_all(name) or []:
            result += [(address.display_name, address.addr_spec) for address in header.addresses]
        return result

    def fallback() -> list[tuple[str, str]]:
        raws = [_decode_words(str(value)) for key, value in message.raw_items() if key.lower() == name.lower()]
        return getaddresses(raws)

    pairs = _safe(parsed, None)
    if pairs is None:
        pairs = _safe(fallback, [])
    return [
        (_unfold(_clean_text(display)), _clean_text(address).strip().lower())
        for display, address in pairs
        if address and address.strip()
    ]


def _date(message: Message) -> datetime | None:
    raw = _unfold(_raw_header(message, "Date"))
    if not raw:
        return None
    try:
        value = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    # "-0000" parses naive; RFC 5322 says the time is UTC with the sender's zone unknown.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _codec(charset: str | None) -> str | None:
    if not charset:
        return None
    try:
        name = codecs.lookup(charset.strip().strip('"').lower()).name
    except (LookupError, ValueError):
        return None
    # Mail labelled Latin-1 is written by Windows and uses the 0x80-0x9F range for €, curly quotes and dashes
    # (browsers decode it the same way).
    return "cp1252" if name == "iso8859-1" else name


def _decode_text(data: bytes, charset: str | None) -> str:
    """Declared charset, else UTF-8, else Windows-1252 (the usual truth behind a wrong label); never raises."""
    declared = _codec(charset)
    for name in _dedupe([declared or "", "utf-8", "cp1252"]):
        try:
            return data.decode(name)
        except (UnicodeError, LookupError, ValueError, TypeError):
            continue
    return data.decode(declared or "utf-8", errors="replace")


def _leaves(part: Message) -> Iterator[Message]:
    """The non-multipart parts in order; message/* parts are leaves (their content is not our body)."""
    if part.get_content_maintype() == "multipart" and part.is_multipart():
        for sub in part.get_payload():
            if isinstance(sub, Message):
                yield from _leaves(sub)
    else:
        yield part


def _part_text(part: Message) -> str:
    data = _safe(lambda: part.get_payload(decode=True), None)
    if not isinstance(data, bytes):
        return ""
    return _decode_text(data, _safe(lambda: part.get_content_charset(), None))


def _part_bytes(part: Message) -> bytes:
    if part.is_multipart():
        # message/rfc822 (a bounced or forwarded mail) and message/delivery-status hold parsed messages.
        inner = part.get_payload()
        if part.get_content_type() == "message/rfc822" and inner:
            return inner[0].as_bytes()
        return b"".join(block.as_bytes() for block in inner)
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


_EXTENSIONS = {"message/rfc822": ".eml", "message/delivery-status": ".txt", "text/rfc822-headers": ".txt",
               "message/disposition-notification": ".txt", "text/plain": ".txt"}  # fmt: skip


def _filename(part: Message, content_type: str, number: int) -> str:
    """A safe file name: the sender's without directories and control characters, else "attachment-N.ext"."""
    name = _clean_text(_safe(lambda: part.get_filename() or "", ""))
    name = "".join(char for char in _unfold(name).replace("\\", "/").rsplit("/", 1)[-1] if char.isprintable())
    name = name.strip().lstrip(".")  # no hidden files, no "..": the glue may write this name to disk
    if name:
        return name
    extension = _EXTENSIONS.get(content_type) or mimetypes.guess_extension(content_type) or ".bin"
    return f"attachment-{number}{extension}"


def _bodies_and_attachments(message: Message) -> tuple[str, str, tuple[Attachment, ...]]:
    """(text/plain body, text/html body, attachments): the first inline text parts are the body."""
    plain: str | None = None
    html: str | None = None
    attachments: list[Attachment] = []
    for part in _safe(lambda: list(_leaves(message)), [message]):
        content_type = _safe(lambda part=part: part.get_content_type(), "application/octet-stream")
        if content_type.startswith("multipart/"):
            continue  # a multipart without parts (cut before its first boundary) has nothing readable
        disposition = _safe(lambda part=part: part.get_content_disposition(), None)
        named = bool(_safe(lambda part=part: part.get_filename(), None))
        inline_text = disposition != "attachment" and not named
        if inline_text and content_type == "text/plain" and plain is None:
            plain = _part_text(part)
        elif inline_text and content_type == "text/html" and html is None:
            html = _part_text(part)
        else:
            payload = _safe(lambda part=part: _part_bytes(part), b"")
            filename = _filename(part, content_type, len(attachments) + 1)
            attachments.append(Attachment(filename, content_type, len(payload), payload))
    return plain or "", html or "", tuple(attachments)


def parse_email(raw: bytes) -> InboundEmail:
    """Parse raw RFC 5322 bytes; never raises, a field it cannot read stays empty.

    text is the text/plain part, else text derived from the HTML; reply_text is text without quoted history
    (for HTML-only mail the quote containers go first); forwards keep their whole text. is_bounce implies
    is_auto_reply, so checking is_auto_reply alone is enough to avoid mail loops.
    """
    try:
        message = email.message_from_bytes(bytes(raw or b""), policy=email.policy.default)
        return _parse(message)
    except Exception:
        # Every field is guarded on its own; this only catches what slipped through, e.g. a recursion limit.
        return InboundEmail()


def _parse(message: Message) -> InboundEmail:
    senders = _addresses(message, "From")
    from_name, from_address = senders[0] if senders else ("", "")
    subject = _header(message, "Subject")
    plain, html, attachments = _safe(lambda: _bodies_and_attachments(message), ("", "", ()))
    text = _tidy(plain) if plain else html_to_text(html)
    if _is_forward(subject):
        reply_text = text
    elif plain:
        reply_text = strip_quoted_text(plain)
    else:
        reply_text = strip_quoted_text(html_to_text(html, drop_quoted=True))

    bounce_reason = _bounce_reason(message, from_address, subject)
    auto_reason = bounce_reason or _auto_reason(message, subject)
    token = ticket_token_parse(subject)
    return InboundEmail(
        message_id=normalize_message_id(_raw_header(message, "Message-ID")),
        in_reply_to=normalize_message_id(_raw_header(message, "In-Reply-To")),
        references=tuple(_dedupe(_message_ids(_raw_header(message, "References")))),
        from_address=from_address,
        from_name=from_name,
        to=tuple(address for _, address in _addresses(message, "To")),
        cc=tuple(address for _, address in _addresses(message, "Cc")),
        subject=subject,
        date=_date(message),
        text=text,
        html_sanitized=_safe(lambda: sanitize_html(html), ""),
        reply_text=reply_text,
        attachments=attachments,
        is_auto_reply=bool(auto_reason),
        is_bounce=bool(bounce_reason),
        auto_reason=auto_reason,
        ticket_token=ticket_token_format(number=token[1], organization_slug=token[0]) if token else "",
    )
