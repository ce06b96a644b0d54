from django.urls import include, path

from integrations import views

urlpatterns = [
    path("hubspot/", include("integrations.hubspot.urls")),
    path("<slug:source>/", views.connection_settings, name="integration_settings"),
    path("<slug:source>/test/", views.connection_test, name="integration_test"),
    path("<slug:source>/sync/", views.sync_start, name="integration_sync"),
    path("<slug:source>/runs/", views.sync_runs_partial, name="integration_runs"),
    path("<slug:source>/runs/<int:pk>/", views.sync_run_detail, name="integration_run"),
]
