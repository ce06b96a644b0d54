from django.core.management.base import BaseCommand, CommandError

from core.errors import ApplicationError
from core.services import organization_create


class Command(BaseCommand):
    help = "Create an organization (a tenant)."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--name", required=True)
        parser.add_argument("--currency", default="USD")

    def handle(self, *args, slug, name, currency, **options):
        try:
            organization = organization_create(slug=slug, name=name, default_currency=currency)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        # A new support inbox starts with seed 000's venue table, two SLA policies and two canned replies.
        from core.tenancy import tenant_scope
        from tickets.settings_services import default_support_rules_create

        with tenant_scope(organization):
            default_support_rules_create(organization=organization)
        self.stdout.write(f"Created organization {organization.name} ({organization.slug}).")
