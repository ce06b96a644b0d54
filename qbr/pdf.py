"""The QBR as a PDF for the customer (seed 003: "save the presentation as a PDF and share it with your customer").

fpdf2 with its built-in Helvetica: pure Python, no font files to ship. Built-in fonts speak Latin-1, so text is
folded to it (typographic punctuation to ASCII, anything else to "?") rather than failing on a customer's name.
"""

from datetime import datetime

from django.utils import timezone
from fpdf import FPDF

from qbr.datapack import PackPart
from qbr.models import QBR_GOALS, Meeting

# Typographic punctuation to ASCII (em and en dash, curly quotes, ellipsis, arrow, middle dot).
_FOLD = str.maketrans(
    {
        "\u2014": "-",
        "\u2013": "-",
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2026": "...",
        "\u2192": "->",
        "\u00b7": "-",
    }
)


def _latin(text) -> str:
    return str(text or "").translate(_FOLD).encode("latin-1", "replace").decode("latin-1")


class _QbrPdf(FPDF):
    def __init__(self, footer_text: str):
        super().__init__(format="A4")
        self.footer_text = footer_text
        self.set_auto_page_break(auto=True, margin=18)
        self.set_margins(18, 18, 18)

    def footer(self):
        self.set_y(-12)
        self.set_font("Helvetica", size=8)
        self.set_text_color(120)
        self.cell(0, 5, _latin(f"{self.footer_text} - page {self.page_no()}"), align="C")


def _heading(pdf: FPDF, text: str) -> None:
    pdf.ln(3)
    pdf.set_font("Helvetica", "B", 13)
    pdf.set_text_color(20)
    pdf.multi_cell(0, 7, _latin(text), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", size=10)
    pdf.set_text_color(40)


def _para(pdf: FPDF, text: str, *, size: int = 10, style: str = "") -> None:
    pdf.set_font("Helvetica", style, size)
    pdf.multi_cell(0, 5, _latin(text), new_x="LMARGIN", new_y="NEXT")


def _source(pdf: FPDF, part: PackPart) -> None:
    pdf.set_font("Helvetica", "I", 8)
    pdf.set_text_color(110)
    as_of = f", as of {timezone.localtime(part.as_of):%-d %b %Y %H:%M}" if part.as_of else ""
    pdf.multi_cell(0, 4, _latin(f"Source: {part.source}{as_of}"), new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(40)
    pdf.set_font("Helvetica", size=10)


def _money(amount, currency: str) -> str:
    return f"{currency} {amount:,.2f}"


def qbr_pdf(*, meeting: Meeting, pack: list[PackPart], action_items: list, now: datetime | None = None) -> bytes:
    now = now or timezone.now()
    account = meeting.account
    start = timezone.localtime(meeting.starts_at)
    pdf = _QbrPdf(footer_text=f"{account.name} - Quarterly business review, {start:%-d %B %Y}")
    pdf.set_title(_latin(f"QBR {account.name} {start:%Y-%m-%d}"))
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 20)
    pdf.multi_cell(0, 10, _latin(account.name), new_x="LMARGIN", new_y="NEXT")
    _para(pdf, f"Quarterly business review - {start:%A %-d %B %Y, %H:%M}", size=12)
    if meeting.period_start and meeting.period_end:
        _para(pdf, f"Quarter reviewed: {meeting.period_start:%-d %b %Y} to {meeting.period_end:%-d %b %Y}")
    attendees = [str(contact) for contact in meeting.contacts.all()] + [
        member.get_full_name() or member.email for member in meeting.members.all()
    ]
    if attendees:
        _para(pdf, "Attendees: " + ", ".join(attendees))
    if meeting.narrative:
        _heading(pdf, "Summary")
        _para(pdf, meeting.narrative)

    _heading(pdf, "Goals and outcomes")
    for key, label, explanation in QBR_GOALS:
        _para(pdf, label, style="B")
        outcome = meeting.goal_outcomes.get(key, "")
        _para(pdf, outcome or explanation, size=10 if outcome else 9, style="" if outcome else "I")
        pdf.ln(1)
    if meeting.agenda_items:
        _heading(pdf, "Agenda")
        for item in meeting.agenda_items:
            _para(pdf, f"- {item}")

    _heading(pdf, "The quarter in data")
    for part in pack:
        _para(pdf, part.title, size=11, style="B")
        if not part.available:
            _para(pdf, part.customer_message, style="I")
        else:
            _pdf_part(pdf, part)
        _source(pdf, part)
        pdf.ln(2)

    if meeting.customer_feedback:
        _heading(pdf, "Your feedback")
        _para(pdf, meeting.customer_feedback)
    if action_items:
        _heading(pdf, "Next steps")
        for task in action_items:
            owner = task.assignee.get_full_name() or task.assignee.email if task.assignee else "unassigned"
            due = f", by {task.due_date:%-d %b %Y}" if task.due_date else ""
            _para(pdf, f"- {task.title} ({owner}{due})")
    _para(pdf, f"\nPrepared {timezone.localtime(now):%-d %b %Y}.", size=8, style="I")
    return bytes(pdf.output())


def _pdf_part(pdf: FPDF, part: PackPart) -> None:
    data = part.data
    if part.empty_message:
        _para(pdf, part.customer_message, style="I")
    if part.key == "tickets" and (data["opened"] or data["closed"]):
        counts = ", ".join(f"{key.upper()}: {value}" for key, value in data["by_priority"].items() if value)
        _para(
            pdf, f"{data['opened']} opened, {data['closed']} closed this quarter" + (f" ({counts})" if counts else "")
        )
    elif part.key == "usage" and part.available:
        for row in data["trend"]:
            first, last = f"{data['first_day']:%-d %b}", f"{data['last_day']:%-d %b}"
            _para(pdf, f"{row['label']}: {row['start']} on {first}, {row['end']} on {last}")
        for feature in data["features"]:
            marker = " (new this quarter)" if feature["new_this_quarter"] else ""
            _para(pdf, f"- {feature['label']}: first used {feature['first_used_at']:%-d %b %Y}{marker}")
    elif part.key == "health" and part.available:
        change = f"+{data['change']}" if data["change"] > 0 else str(data["change"])
        _para(
            pdf, f"Health {data['score']} ({data['band']}), {change} since {data['start_score']} at the quarter's start"
        )
    elif part.key == "incidents":
        for incident in data["incidents"]:
            state = "closed" if incident["closed_at"] else incident["status"]
            _para(
                pdf, f"#{incident['number']} {incident['subject']} ({incident['priority'].upper()}, {state})", style="B"
            )
            if incident["summary"]:
                _para(pdf, incident["summary"][:300], size=9)
    elif part.key == "escalations":
        for row in data["escalations"]:
            _para(pdf, f"{row['issue']}: {row['ticket_subject']} - {row['state']}")
    elif part.key == "feature_requests":
        for request in data["requests"]:
            marker = "Delivered: " if request.status == "shipped" else ""
            _para(pdf, f"- {marker}{request.title} ({request.get_status_display()})", style="B" if marker else "")
    elif part.key == "uptime":
        for note in data["notes"]:
            _para(pdf, f"{note.noted_on:%-d %b}: {note.body}")
    elif part.key == "revenue":
        renewal = f"{data['renewal_date']:%-d %b %Y}" if data["renewal_date"] else "not set"
        _para(
            pdf,
            f"ARR {_money(data['arr'], data['currency'])}, MRR {_money(data['mrr'], data['currency'])}, "
            f"renewal {renewal}",
        )
        if "movements" in data:
            _para(
                pdf,
                f"MRR this quarter: {_money(data['mrr_start'], data['currency'])} to "
                f"{_money(data['mrr_end'], data['currency'])}",
            )
            for movement in data["movements"]:
                change = _money(movement["change"], data["currency"])
                _para(pdf, f"{movement['on']:%-d %b}: {movement['kind']} {change}")
