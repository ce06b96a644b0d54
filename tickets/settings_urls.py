"""The support inbox's settings pages, relative to /o/<slug:org_slug>/ (include them there)."""

from django.urls import path

from tickets import settings_views as views

urlpatterns = [
    path("settings/support/", views.support_settings, name="support_settings"),
    path("settings/support/rotate-secret/", views.support_secret_rotate, name="support_secret_rotate"),
    path("settings/support/sla/", views.sla_policies, name="sla_policies"),
    path("settings/support/sla/new/", views.sla_policy_create, name="sla_policy_create"),
    path("settings/support/sla/<int:pk>/", views.sla_policy_edit, name="sla_policy_edit"),
    path("settings/support/sla/<int:pk>/delete/", views.sla_policy_delete, name="sla_policy_delete"),
    path("settings/support/routing/", views.routing_rules, name="routing_rules"),
    path("settings/support/routing/new/", views.routing_rule_create, name="routing_rule_create"),
    path("settings/support/routing/<int:pk>/", views.routing_rule_edit, name="routing_rule_edit"),
    path("settings/support/routing/<int:pk>/delete/", views.routing_rule_delete, name="routing_rule_delete"),
    path("settings/support/macros/", views.macros, name="macros"),
    path("settings/support/macros/new/", views.macro_create, name="macro_create"),
    path("settings/support/macros/<int:pk>/", views.macro_edit, name="macro_edit"),
    path("settings/support/macros/<int:pk>/delete/", views.macro_delete, name="macro_delete"),
]
