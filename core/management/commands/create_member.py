from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from core.errors import ApplicationError
from core.models import Organization, Role
from core.services import member_add, user_get_or_create


class Command(BaseCommand):
    help = "Create a user if needed and make them a member of an organization with a role."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--org", required=True, help="Organization slug")
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--password", help="Sets (or resets) the user's password")

    def handle(self, *args, email, org, role, password, **options):
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"No organization with the slug '{org}'.")
        try:
            with transaction.atomic():
                user, created = user_get_or_create(email=email, password=password)
                member_add(tenant=None, organization=organization, user=user, role=role)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        verb = "Created" if created else "Updated"
        self.stdout.write(f"{verb} {user.email}: {role} in {organization.slug}.")
