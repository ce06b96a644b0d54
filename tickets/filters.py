"""Inbox filters shared by the page and the API."""

import django_filters
from django.db.models import QuerySet

from accounts.models import Cohort
from tickets.models import Priority, Status, Topic
from tickets.selectors import INBOX_VIEWS, TicketFilters, ticket_list


class TicketFilterSet(django_filters.FilterSet):
    view = django_filters.ChoiceFilter(choices=list(INBOX_VIEWS.items()), empty_label="All open", method="keep")
    search = django_filters.CharFilter(label="Search", help_text="Subject or requester email contains, or #number.")
    status = django_filters.ChoiceFilter(choices=Status.choices, empty_label="Any status")
    priority = django_filters.ChoiceFilter(choices=Priority.choices, empty_label="Any priority")
    topic = django_filters.ChoiceFilter(choices=Topic.choices, empty_label="Any topic")
    owner = django_filters.NumberFilter(label="Owner", help_text="User id of the owner.")
    account = django_filters.NumberFilter(label="Account", help_text="Account id.")
    tag = django_filters.CharFilter(label="Tag")
    cohort = django_filters.ChoiceFilter(choices=Cohort.choices, empty_label="Any cohort")

    def keep(self, queryset, name, value):
        return queryset

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        data = self.form.cleaned_data
        return ticket_list(
            filters=TicketFilters(
                view=data.get("view") or "open",
                search=(data.get("search") or "").strip(),
                status=data.get("status") or "",
                priority=data.get("priority") or "",
                topic=data.get("topic") or "",
                owner=int(data["owner"]) if data.get("owner") else None,
                account=int(data["account"]) if data.get("account") else None,
                tag=data.get("tag") or "",
                cohort=data.get("cohort") or "",
            ),
            user=self.request.user if self.request is not None else None,
            base=queryset,
        )
