"""Factories of the qbr app; rows stay inside the account's organization."""

from datetime import timedelta

import factory
from django.utils import timezone

from qbr.models import FeatureRequest, Meeting, MeetingKind, MeetingStatus
from tests.factories import AccountFactory, TenantFactory


class MeetingFactory(TenantFactory):
    class Meta:
        model = Meeting

    account = factory.SubFactory(AccountFactory)
    organization = factory.SelfAttribute("account.organization")
    kind = MeetingKind.QBR
    title = factory.Sequence(lambda n: f"QBR {n}")
    status = MeetingStatus.SCHEDULED
    starts_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=10))
    period_start = factory.LazyAttribute(lambda o: (o.starts_at - timedelta(days=90)).date())
    period_end = factory.LazyAttribute(lambda o: o.starts_at.date())


class FeatureRequestFactory(TenantFactory):
    class Meta:
        model = FeatureRequest

    organization = factory.SubFactory("tests.factories.OrganizationFactory")
    title = factory.Sequence(lambda n: f"Request {n}")
