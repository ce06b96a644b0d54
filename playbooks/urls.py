from django.urls import path

from playbooks import views

app_name = "playbooks"

urlpatterns = [
    path("", views.playbook_list, name="playbook_list"),
    path("new/", views.playbook_create, name="playbook_create"),
    path("templates/add/", views.playbook_template_add, name="playbook_template_add"),
    path("outbox/", views.outbox, name="outbox"),
    path("<int:pk>/", views.playbook_detail, name="playbook_detail"),
    path("<int:pk>/edit/", views.playbook_edit, name="playbook_edit"),
    path("<int:pk>/dry-run/", views.playbook_dry_run, name="playbook_dry_run"),
    path("<int:pk>/pause/", views.playbook_pause, name="playbook_pause"),
    path("<int:pk>/resume/", views.playbook_resume, name="playbook_resume"),
    path("step-runs/<int:pk>/retry/", views.step_run_retry, name="step_run_retry"),
    path("enrollments/<int:pk>/cancel/", views.enrollment_cancel, name="enrollment_cancel"),
]
