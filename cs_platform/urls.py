from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from accounts.apis import AccountViewSet, ContactViewSet
from churn.apis import ChurnCaseViewSet
from core import views as core_views
from health.apis import HealthScoreViewSet
from lifecycle.apis import DealViewSet
from migrations_notify.apis import MigrationCampaignViewSet
from playbooks.apis import PlaybookViewSet
from qbr.apis import FeatureRequestViewSet, MeetingViewSet, QbrViewSet
from qbr.urls import shared_urlpatterns as qbr_shared_urlpatterns
from tickets.apis import TicketViewSet
from usage.apis import UsageViewSet

api_router = SimpleRouter(trailing_slash=True)
api_router.register("accounts", AccountViewSet, basename="account")
api_router.register("contacts", ContactViewSet, basename="contact")
api_router.register("deals", DealViewSet, basename="deal")
api_router.register("tickets", TicketViewSet, basename="ticket")
api_router.register("churn-cases", ChurnCaseViewSet, basename="churn-case")
api_router.register("migration-campaigns", MigrationCampaignViewSet, basename="migration-campaign")
api_router.register("qbrs", QbrViewSet, basename="qbr")
api_router.register("meetings", MeetingViewSet, basename="meeting")
api_router.register("feature-requests", FeatureRequestViewSet, basename="feature-request")
api_router.register("usage", UsageViewSet, basename="usage")
api_router.register("health-scores", HealthScoreViewSet, basename="health-score")
api_router.register("playbooks", PlaybookViewSet, basename="playbook")

api_urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    *api_router.urls,
]

organization_urlpatterns = [
    path("", include("accounts.urls")),
    path("", include("lifecycle.urls")),
    path("", include("tickets.urls")),
    path("", include("tickets.report_urls")),
    path("", include("tickets.settings_urls")),
    path("", include("qbr.urls")),
    path("settings/integrations/", include("integrations.urls")),
    path("", include("revenue.urls")),
    path("", include("churn.urls")),
    path("", include("migrations_notify.urls")),
    path("", include("health.urls")),
    path("playbooks/", include("playbooks.urls")),
    path("settings/", include("core.urls")),
]

urlpatterns = [
    path("", core_views.home, name="home"),
    path("", include("core.auth_urls")),
    path("organizations/", core_views.organization_picker, name="organization_picker"),
    path("healthz", core_views.healthz, name="healthz"),
    path("o/<slug:org_slug>/", include(organization_urlpatterns)),
    path("api/v1/", include((api_urlpatterns, "api"))),
    path("inbound/", include("tickets.webhook_urls")),
    path("shared/", include(qbr_shared_urlpatterns)),
    path("webhooks/hubspot/", include("integrations.hubspot.webhook_urls")),
    path("webhooks/stripe/", include("revenue.webhook_urls")),
    path("feedback/churn/", include("churn.public_urls")),
    path("admin/", admin.site.urls),
]
