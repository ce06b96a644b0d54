"""Feed email into an organization's inbox: .eml files, standard input, or a Maildir (new mail is marked seen)."""

import mailbox
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.models import Organization
from core.tenancy import tenant_scope
from tickets.inbound import email_receive


class Command(BaseCommand):
    help = "Turn emails into tickets and replies: .eml files, '-' for standard input, or --maildir PATH."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="Organization slug")
        parser.add_argument("files", nargs="*", help=".eml files, or - for standard input")
        parser.add_argument("--maildir", help="A Maildir: every new message is read, then moved to cur (seen)")

    def handle(self, *args, org, files, maildir, **options):
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"No organization with the slug '{org}'.")
        if not files and not maildir:
            raise CommandError("Name .eml files, '-' for standard input, or --maildir PATH.")
        with tenant_scope(organization):
            for name in files:
                raw = sys.stdin.buffer.read() if name == "-" else self._read(name)
                self._report(name, email_receive(organization=organization, raw=raw))
            if maildir:
                box = mailbox.Maildir(maildir, create=False)
                for key in list(box.iterkeys()):
                    message = box.get_message(key)
                    if "S" in message.get_flags():
                        continue
                    record = email_receive(organization=organization, raw=box.get_bytes(key))
                    message.set_subdir("cur")
                    message.add_flag("S")
                    box[key] = message
                    self._report(key, record)

    def _read(self, name: str) -> bytes:
        path = Path(name)
        if not path.is_file():
            raise CommandError(f"No such file: {name}")
        return path.read_bytes()

    def _report(self, source: str, record) -> None:
        ticket = f" #{record.ticket.number}" if record.ticket else ""
        line = f"{source}: {record.get_outcome_display()}{ticket}"
        if record.error:
            self.stderr.write(f"{line}: {record.error}")
        else:
            self.stdout.write(line)
