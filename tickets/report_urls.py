"""The inbox's report pages, to be included under /o/<slug:org_slug>/ with the organization's other URLs."""

from django.urls import path

from tickets.report_views import sla_report_view

urlpatterns = [
    path("reports/sla/", sla_report_view, name="sla_report"),
]
