from django.apps import AppConfig


class HealthConfig(AppConfig):
    name = "health"

    def ready(self) -> None:
        from core.events import event_subscribe
        from health.events import health_event_received
        from health.selectors import health_pack_part
        from qbr.datapack import register_source

        # Scores follow their inputs: an event naming an account whose input changed recomputes that account.
        event_subscribe(health_event_received)
        # The QBR data pack's "Health score" part (qbr.datapack).
        register_source("health", health_pack_part)
