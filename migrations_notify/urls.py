from django.urls import path

from migrations_notify import views

urlpatterns = [
    path("migrations/", views.migration_campaign_list, name="migration_campaign_list"),
    path("migrations/new/", views.migration_campaign_create, name="migration_campaign_create"),
    path("migrations/<int:pk>/", views.migration_campaign_detail, name="migration_campaign_detail"),
    path("migrations/<int:pk>/edit/", views.migration_campaign_edit, name="migration_campaign_edit"),
    path("migrations/<int:pk>/ready/", views.migration_campaign_ready, name="migration_campaign_ready"),
    path("migrations/<int:pk>/pause/", views.migration_campaign_pause, name="migration_campaign_pause"),
    path("migrations/<int:pk>/resume/", views.migration_campaign_resume, name="migration_campaign_resume"),
    path("migrations/<int:pk>/run/", views.migration_campaign_run, name="migration_campaign_run"),
    path("migrations/<int:pk>/import/", views.migration_campaign_import, name="migration_campaign_import"),
]
