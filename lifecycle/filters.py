"""Deal filters shared by the board, the list, the forecast and the API (one definition, one validation).

They narrow the queryset they are given, which the caller has already weighted (selectors.deals_weighted)."""

import django_filters
from django.db.models import QuerySet
from django.utils import timezone

from accounts.selectors import organization_member_users
from lifecycle.models import DealStage, DealType
from lifecycle.selectors import QUARTER_PATTERN, DealFilters, deal_filter, quarter_choices


class DealFilterSet(django_filters.FilterSet):
    search = django_filters.CharFilter(label="Search", help_text="Deal or account name contains.")
    owner = django_filters.NumberFilter(label="Owner", help_text="User id of the deal's AE.")
    type = django_filters.ChoiceFilter(choices=DealType.choices, empty_label="Any type")
    stage = django_filters.ChoiceFilter(choices=DealStage.choices, empty_label="Any stage")
    close_quarter = django_filters.CharFilter(
        label="Close quarter", help_text="Expected close in this quarter, e.g. 2027-Q1.", method="keep"
    )
    account = django_filters.NumberFilter(label="Account", help_text="Account id.")
    committed = django_filters.BooleanFilter(label="Committed")

    def keep(self, queryset, name, value):
        return queryset

    def is_valid(self) -> bool:
        valid = super().is_valid()
        quarter = self.form.cleaned_data.get("close_quarter") if valid else None
        if quarter and not QUARTER_PATTERN.match(quarter):
            self.form.add_error("close_quarter", "Write the quarter as YYYY-Qn, for example 2027-Q1.")
            return False
        return valid

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        data = self.form.cleaned_data
        return deal_filter(
            queryset,
            filters=DealFilters(
                search=(data.get("search") or "").strip(),
                owner=int(data["owner"]) if data.get("owner") else None,
                type=data.get("type") or "",
                stage=data.get("stage") or "",
                close_quarter=data.get("close_quarter") or "",
                account=int(data["account"]) if data.get("account") else None,
                committed=data.get("committed"),
            ),
        )


def deal_filter_choices(*, organization) -> dict:
    """What the owner, type and close-quarter menus offer (templates/lifecycle/_deal_filters.html)."""
    return {
        "owners": organization_member_users(organization=organization),
        "quarters": quarter_choices(today=timezone.localdate()),
        "deal_types": DealType.choices,
    }
