from django.urls import path

from integrations.hubspot import views

# Included at /o/<org_slug>/settings/integrations/hubspot/ (before the generic <source>/ pages).
urlpatterns = [
    path("stages/", views.stage_mapping, name="hubspot_stage_mapping"),
    path("stages/refresh/", views.stage_mapping_refresh, name="hubspot_stage_refresh"),
    path("fields/", views.field_ownership, name="hubspot_field_ownership"),
    path("conflicts/", views.conflicts, name="hubspot_conflicts"),
]
