from django.urls import path

from churn import views

urlpatterns = [
    path("churn/", views.churn_case_list, name="churn_case_list"),
    path("churn/new/", views.churn_case_create, name="churn_case_create"),
    path("churn/<int:pk>/", views.churn_case_detail, name="churn_case_detail"),
    path("churn/<int:pk>/edit/", views.churn_case_edit, name="churn_case_edit"),
    path("churn/<int:pk>/run/", views.churn_step_run, name="churn_step_run"),
    path("churn/<int:pk>/skip/", views.churn_step_skip, name="churn_step_skip"),
    path("churn/<int:pk>/dismiss/", views.churn_case_dismiss, name="churn_case_dismiss"),
    path("reports/churn/", views.churn_report, name="churn_report"),
    path("settings/churn/", views.churn_settings, name="churn_settings"),
]
