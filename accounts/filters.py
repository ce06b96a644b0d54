"""Filter parameters shared by the browser lists and the API (one definition, one validation)."""

import django_filters
from django.db.models import QuerySet

from accounts.models import AccountStatus, Cohort, LifecycleStage
from accounts.selectors import AccountFilters, ContactFilters, account_list, contact_list


class AccountFilterSet(django_filters.FilterSet):
    search = django_filters.CharFilter(label="Search", help_text="Name or domain contains, or exact codename.")
    cohort = django_filters.ChoiceFilter(choices=Cohort.choices, empty_label="All cohorts")
    status = django_filters.ChoiceFilter(choices=AccountStatus.choices, empty_label="Any status")
    owner = django_filters.NumberFilter(label="Owner", help_text="User id of the CSM or AE owner.")
    qbr_nominated = django_filters.BooleanFilter(label="Nominated for QBRs")
    qbr_programme = django_filters.BooleanFilter(
        label="In the QBR programme", help_text="Active, and ARR over the organization's threshold or nominated."
    )

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        data = self.form.cleaned_data
        return account_list(
            filters=AccountFilters(
                search=(data.get("search") or "").strip(),
                cohort=data.get("cohort") or "",
                status=data.get("status") or "",
                owner=int(data["owner"]) if data.get("owner") else None,
                qbr_nominated=data.get("qbr_nominated"),
                qbr_programme=data.get("qbr_programme"),
            )
        )


class ContactFilterSet(django_filters.FilterSet):
    with_qualification = False

    search = django_filters.CharFilter(label="Search", help_text="Name or email contains.")
    account = django_filters.NumberFilter(label="Account", help_text="Account id.")
    lifecycle_stage = django_filters.ChoiceFilter(choices=LifecycleStage.choices, empty_label="Any stage")

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        data = self.form.cleaned_data
        return contact_list(
            filters=ContactFilters(
                search=(data.get("search") or "").strip(),
                account=int(data["account"]) if data.get("account") else None,
                lifecycle_stage=data.get("lifecycle_stage") or "",
            ),
            with_qualification=self.with_qualification,
        )


class ContactApiFilterSet(ContactFilterSet):
    with_qualification = True
