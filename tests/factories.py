"""Factories that keep every row inside one organization (the account's org is the contact's org)."""

from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from accounts.models import Account, Cohort, Contact, Note
from core.models import Membership, Organization, Role
from lifecycle.models import Deal, DealStage, DealType, Task


class OrganizationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organization

    name = factory.Sequence(lambda n: f"Organization {n}")
    slug = factory.Sequence(lambda n: f"org-{n}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}@example.test")
    email = factory.SelfAttribute("username")
    first_name = factory.Sequence(lambda n: f"First{n}")
    password = factory.PostGenerationMethodCall("set_password", "pw-for-tests-1")

    @factory.post_generation
    def save_password(self, create, extracted, **kwargs):
        if create:
            self.save()


class TenantFactory(factory.django.DjangoModelFactory):
    """Tenant rows are created through the unscoped manager: the test decides the organization explicitly."""

    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return model_class.objects.with_scopes_disabled().create(*args, **kwargs)


class MembershipFactory(TenantFactory):
    class Meta:
        model = Membership

    organization = factory.SubFactory(OrganizationFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.CSM


class AccountFactory(TenantFactory):
    class Meta:
        model = Account

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Customer {n:04d}")
    domain = factory.Sequence(lambda n: f"customer{n}.example")
    cohort = Cohort.STARTER
    arr = Decimal("12000.00")
    mrr = Decimal("1000.00")
    codename = factory.Sequence(lambda n: f"Vesta {n}")


class ContactFactory(TenantFactory):
    class Meta:
        model = Contact

    account = factory.SubFactory(AccountFactory)
    organization = factory.SelfAttribute("account.organization")
    first_name = "Robin"
    last_name = factory.Sequence(lambda n: f"Mayer{n:04d}")
    email = factory.Sequence(lambda n: f"person{n}@example.com")


class NoteFactory(TenantFactory):
    class Meta:
        model = Note

    account = factory.SubFactory(AccountFactory)
    organization = factory.SelfAttribute("account.organization")
    body = "Kickoff done."


class DealFactory(TenantFactory):
    class Meta:
        model = Deal

    account = factory.SubFactory(AccountFactory)
    organization = factory.SelfAttribute("account.organization")
    name = factory.Sequence(lambda n: f"Deal {n:04d}")
    amount = Decimal("10000.00")
    currency = "USD"
    type = DealType.NEW
    stage = DealStage.OPPORTUNITY


class TaskFactory(TenantFactory):
    class Meta:
        model = Task

    account = factory.SubFactory(AccountFactory)
    organization = factory.SelfAttribute("account.organization")
    title = factory.Sequence(lambda n: f"Follow up {n}")
