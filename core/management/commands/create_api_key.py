from django.core.management.base import BaseCommand, CommandError

from core.errors import ApplicationError
from core.models import Organization, Role
from core.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for an organization. The key is printed alone on the last line, once."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="Organization slug")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--name", default="")

    def handle(self, *args, org, role, name, **options):
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"No organization with the slug '{org}'.")
        try:
            api_key, raw_key = api_key_create(tenant=None, organization=organization, role=role, name=name)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Created API key '{api_key.name}' ({role}) for {organization.slug}. It is shown only now:")
        self.stdout.write(raw_key)
