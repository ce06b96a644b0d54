from django.apps import AppConfig


class UsageConfig(AppConfig):
    name = "usage"

    def ready(self) -> None:
        # The QBR data pack asks registered sources for its "Usage and feature adoption" part (qbr.datapack).
        from qbr.datapack import register_source
        from usage.selectors import usage_pack_part

        register_source("usage", usage_pack_part)
