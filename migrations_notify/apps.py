from django.apps import AppConfig


class MigrationsNotifyConfig(AppConfig):
    name = "migrations_notify"
