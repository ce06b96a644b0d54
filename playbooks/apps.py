from django.apps import AppConfig


def playbook_event_subscriber(event) -> None:
    """Cheap on purpose (core.events): only events a playbook can trigger on are passed on, to a task."""
    from playbooks.definition import trigger_event_name
    from playbooks.tasks import playbook_event_received

    if trigger_event_name(event):
        playbook_event_received.delay(event.organization_id, event.as_message())


class PlaybooksConfig(AppConfig):
    name = "playbooks"

    def ready(self) -> None:
        from core.events import event_subscribe

        event_subscribe(playbook_event_subscriber)
