from django.apps import AppConfig


class QbrConfig(AppConfig):
    name = "qbr"
