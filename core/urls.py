from django.urls import path

from core import views

urlpatterns = [
    path("", views.organization_settings, name="organization_settings"),
    path("members/", views.member_list, name="member_list"),
    path("members/<int:pk>/role/", views.member_change_role, name="member_change_role"),
    path("members/<int:pk>/remove/", views.member_remove, name="member_remove"),
    path("api-keys/", views.api_key_list, name="api_key_list"),
    path("api-keys/<int:pk>/revoke/", views.api_key_revoke, name="api_key_revoke"),
]
