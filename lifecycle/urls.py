from django.urls import path

from lifecycle import report_views, views

urlpatterns = [
    path("my-work/", views.my_work, name="my_work"),
    path("notifications/badge/", views.notification_badge, name="notification_badge"),
    path("pipeline/", views.pipeline_board, name="pipeline_board"),
    path("deals/", views.deal_list, name="deal_list"),
    path("deals/new/", views.deal_create, name="deal_create"),
    path("deals/name-suggestion/", views.deal_name_suggestion, name="deal_name_suggestion"),
    path("deals/<int:pk>/", views.deal_detail, name="deal_detail"),
    path("deals/<int:pk>/edit/", views.deal_edit, name="deal_edit"),
    path("deals/<int:pk>/move/", views.deal_move, name="deal_move"),
    path("deals/<int:pk>/commit/", views.deal_commit, name="deal_commit"),
    path("deals/<int:pk>/delete/", views.deal_delete, name="deal_delete"),
    path("accounts/<int:pk>/tasks/", views.task_create, name="task_create"),
    path("tasks/<int:pk>/complete/", views.task_complete, name="task_complete"),
    path("tasks/<int:pk>/reopen/", views.task_reopen, name="task_reopen"),
    path("contacts/<int:pk>/stage/", views.contact_stage, name="contact_stage"),
    path("contacts/<int:pk>/qualification/", views.contact_qualification, name="contact_qualification"),
    path("contacts/<int:pk>/outreach/", views.contact_outreach, name="contact_outreach"),
    path("reports/forecast/", report_views.pipeline_forecast, name="pipeline_forecast"),
    path("reports/funnel/", report_views.funnel_report, name="funnel_report"),
    path("reports/cohorts/", report_views.cohort_report, name="cohort_report"),
    path("settings/pipeline/", views.pipeline_settings, name="pipeline_settings"),
    path("settings/pipeline/steps/new/", views.onboarding_step_create, name="onboarding_step_create"),
    path("settings/pipeline/steps/<int:pk>/", views.onboarding_step_edit, name="onboarding_step_edit"),
    path("settings/pipeline/steps/<int:pk>/delete/", views.onboarding_step_delete, name="onboarding_step_delete"),
]
