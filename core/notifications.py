"""Telling a member something: an in-app notification, and the same text by email once the change commits."""

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.models import Notification, Organization


def notification_send(*, organization: Organization, recipient, text: str, url: str = "") -> Notification:
    """Stores the in-app notification and enqueues its email after commit (a rolled-back change tells no one)."""
    notification = Notification.objects.create(organization=organization, recipient=recipient, text=text, url=url)
    from core.tasks import deliver_notification_email

    transaction.on_commit(lambda: deliver_notification_email.delay(organization.pk, notification.pk))
    return notification


def notification_email_send(*, notification: Notification) -> bool:
    """Sends the email once: the claim is a compare-and-set, so a redelivered task sends nothing more."""
    from django.core.mail import send_mail

    recipient = notification.recipient
    if not recipient.email:
        return False
    claimed = Notification.objects.filter(pk=notification.pk, emailed_at__isnull=True).update(emailed_at=timezone.now())
    if not claimed:
        return False
    link = f"{settings.SITE_URL}{notification.url}" if notification.url else settings.SITE_URL
    send_mail(
        subject=notification.text[:120],
        message=f"{notification.text}\n\nOpen it: {link}\n",
        from_email=settings.DEFAULT_FROM_EMAIL,
        recipient_list=[recipient.email],
    )
    return True


def notifications_mark_read(*, recipient) -> int:
    return Notification.objects.filter(recipient=recipient, read_at__isnull=True).update(read_at=timezone.now())
