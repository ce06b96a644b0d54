"""The support inbox: tickets, their conversation, SLA policies and the organization's support settings."""

from django.conf import settings
from django.db import models

from accounts.models import Account, Cohort, Contact
from core.models import TenantModel


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    CHAT = "chat", "Chat"
    WEB = "web", "Web"
    API = "api", "API"
    CONTACT_FORM = "contact_form", "Contact form"


class Topic(models.TextChoices):
    """Seed 000, "Inbound Support": the topic decides the venue (ticket, forum or public tracker)."""

    BILLING = "billing", "Billing"
    APPLICATION = "application", "Application"
    FEATURE_REQUEST = "feature_request", "Feature request"
    RUNTIME = "runtime", "Node-RED application"
    FLOWS = "flows", "Node-RED flows"
    CUSTOM_NODES = "custom_nodes", "Custom and third-party nodes"
    # Seed 003: applications for open roles arrive through the "Contact us" form.
    JOB_APPLICATION = "job_application", "Job application"
    OTHER = "other", "Other"


class Priority(models.TextChoices):
    P0 = "p0", "P0 · Critical"
    P1 = "p1", "P1 · High"
    P2 = "p2", "P2 · Normal"
    P3 = "p3", "P3 · Low"


class Status(models.TextChoices):
    NEW = "new", "New"
    OPEN = "open", "Open"
    PENDING_CUSTOMER = "pending_customer", "Pending customer"
    ON_HOLD = "on_hold", "On hold"
    CLOSED = "closed", "Closed"


OPEN_STATUSES = (Status.NEW, Status.OPEN, Status.PENDING_CUSTOMER, Status.ON_HOLD)
# The SLA clock stops while the customer owes us an answer, and while the ticket is closed.
PAUSED_STATUSES = (Status.PENDING_CUSTOMER, Status.CLOSED)


class SupportSettings(TenantModel):
    """One row per organization: where the inbox announces, how it counts business hours, when replies reopen."""

    slack_webhook_url = models.URLField("Slack incoming webhook", blank=True)
    reopen_window_days = models.PositiveSmallIntegerField(
        default=14,
        help_text="A customer reply within this many days of closing reopens the ticket; later, a follow-up.",
    )
    # Seed 000, "SLA": business hours in Berlin, Monday to Friday; the rest is best effort.
    timezone = models.CharField(max_length=64, default="Europe/Berlin")
    weekly_hours = models.JSONField(default=dict, blank=True)  # {"mon": ["09:00-17:00"], ...}; empty: Mon-Fri 9-17
    holiday_country = models.CharField(max_length=2, default="DE", blank=True)
    holiday_subdivision = models.CharField(max_length=10, default="BE", blank=True)
    extra_holidays = models.JSONField(default=list, blank=True)  # ["2026-12-24", ...]
    forum_url = models.URLField("Community forum", blank=True)
    feature_tracker_url = models.URLField("Public feature tracker", blank=True)
    docs_url = models.URLField("Documentation", blank=True)
    # Seed 003: "CC the Interim Head of People on all job application emails."
    job_applications_cc = models.EmailField("Copy replies to job applications to", blank=True)
    last_ticket_number = models.PositiveIntegerField(default=0)  # numbers are handed out under a row lock
    # Escalation of bugs (seed 000 "Escalation", seed 003 "bug reports"): a GitHub repository per organization.
    github_repository = models.CharField("GitHub repository", max_length=140, blank=True, help_text="owner/name")
    github_api_url = models.URLField("GitHub API", default="https://api.github.com")
    github_token_sealed = models.TextField(blank=True)  # core.secrets.seal(); never shown again
    github_webhook_secret_sealed = models.TextField(blank=True)
    # The shared secret an email provider's inbound webhook signs with (Authorization: Bearer or ?token=).
    inbound_secret_sealed = models.TextField(blank=True)
    # Seed 003, "out-of-hours auto-replies": sent once per ticket when it arrives outside business hours.
    out_of_hours_reply = models.TextField(
        blank=True,
        default="Thanks for your message. Our team works {business_hours}; we will answer when we are back.",
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization"], name="support_settings_one_per_org")]

    def __str__(self) -> str:
        return f"Support settings of {self.organization_id}"


class SlaPolicy(TenantModel):
    """Targets for one kind of ticket; the first policy (by position) whose conditions match applies."""

    name = models.CharField(max_length=100)
    position = models.PositiveSmallIntegerField(default=0)
    cohort = models.CharField(max_length=16, choices=Cohort.choices, blank=True, help_text="Empty: any cohort.")
    priority = models.CharField(max_length=4, choices=Priority.choices, blank=True, help_text="Empty: any priority.")
    channel = models.CharField(max_length=16, choices=Channel.choices, blank=True, help_text="Empty: any channel.")
    topic = models.CharField(max_length=20, choices=Topic.choices, blank=True, help_text="Empty: any topic.")
    first_response_minutes = models.PositiveIntegerField()
    next_response_minutes = models.PositiveIntegerField(null=True, blank=True)
    resolution_minutes = models.PositiveIntegerField(null=True, blank=True)
    # False: calendar hours, every minute counts (24/7); True: only the organization's business hours count.
    business_hours = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


class Tag(TenantModel):
    name = models.CharField(max_length=50)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="tag_unique_name")]

    def __str__(self) -> str:
        return self.name


class Ticket(TenantModel):
    number = models.PositiveIntegerField()
    subject = models.CharField(max_length=250)
    requester = models.ForeignKey(Contact, null=True, on_delete=models.SET_NULL, related_name="tickets")
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="tickets")
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.EMAIL)
    topic = models.CharField(max_length=20, choices=Topic.choices, default=Topic.APPLICATION)
    priority = models.CharField(max_length=4, choices=Priority.choices, default=Priority.P2)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.NEW)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    followers = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    tags = models.ManyToManyField(Tag, blank=True, related_name="tickets")
    sla_policy = models.ForeignKey(SlaPolicy, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # The next SLA deadline (first response, next response or resolution), kept for sorting and for the
    # breach alarm; NULL while the clock is paused or when no policy applies.
    sla_due_at = models.DateTimeField(null=True, blank=True)
    sla_breached_at = models.DateTimeField(null=True, blank=True)
    first_response_at = models.DateTimeField(null=True, blank=True)
    last_customer_message_at = models.DateTimeField(null=True, blank=True)
    last_agent_message_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "number"], name="ticket_unique_number")]
        indexes = [
            # Each inbox view is a range scan on (organization, status, sort column, id).
            models.Index(fields=["organization", "status", "sla_due_at", "id"], name="ticket_by_status_due"),
            models.Index(fields=["organization", "status", "updated_at", "id"], name="ticket_by_status_updated"),
            models.Index(fields=["organization", "owner", "status", "updated_at", "id"], name="ticket_by_owner"),
            # "All open" spans four statuses, which a (status, sort) index cannot return in order: these partial
            # indexes hold only open tickets, already sorted (bench/bench_inbox.py: 700 ms -> under 1 ms at 1M).
            # Their condition must follow OPEN_STATUSES, or PostgreSQL quietly stops using them.
            models.Index(
                fields=["organization", "sla_due_at", "id"],
                condition=models.Q(status__in=["new", "open", "pending_customer", "on_hold"]),
                name="ticket_open_by_due",
            ),
            models.Index(
                fields=["organization", "updated_at", "id"],
                condition=models.Q(status__in=["new", "open", "pending_customer", "on_hold"]),
                name="ticket_open_by_updated",
            ),
            models.Index(fields=["organization", "account", "status"], name="ticket_by_account"),
            models.Index(fields=["organization", "requester"], name="ticket_by_requester"),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.subject}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class TicketStatusChange(TenantModel):
    """Every status change with its time: the SLA clock's pauses are read from these."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=20, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=Status.choices)
    changed_at = models.DateTimeField()

    class Meta:
        ordering = ["changed_at", "id"]
        indexes = [models.Index(fields=["organization", "ticket", "changed_at"], name="ticket_status_history")]

    def __str__(self) -> str:
        return f"{self.from_status or 'created'} → {self.to_status}"


class Message(TenantModel):
    class Kind(models.TextChoices):
        CUSTOMER = "customer", "From the customer"
        REPLY = "reply", "Public reply"
        COMMENT = "comment", "Internal comment"
        EVENT = "event", "Automatic action"

    class Delivery(models.TextChoices):
        NOT_SENT = "", "Not sent"  # customer messages, comments and events are not delivered anywhere
        QUEUED = "queued", "Queued"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.EMAIL)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)  # sanitized on the way in; safe to render
    mentions = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    message_id = models.CharField(max_length=250, blank=True)  # the email Message-ID, without angle brackets
    in_reply_to = models.CharField(max_length=250, blank=True)
    # Sent by the inbox itself (routing redirect, out-of-hours notice): marked Auto-Submitted so no robot answers.
    automatic = models.BooleanField(default=False)
    delivery = models.CharField(max_length=8, choices=Delivery.choices, blank=True)
    delivery_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["organization", "ticket", "created_at"], name="message_by_ticket"),
            models.Index(fields=["organization", "message_id"], name="message_by_message_id"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on {self.ticket_id}"

    @property
    def is_public(self) -> bool:
        return self.kind in (self.Kind.CUSTOMER, self.Kind.REPLY)


class Attachment(TenantModel):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="attachments/%Y/%m/")
    filename = models.CharField(max_length=250)
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()

    def __str__(self) -> str:
        return self.filename


class Escalation(TenantModel):
    """A bug raised in the organization's tracker for a ticket; while it is open the ticket cannot close."""

    class State(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="escalations")
    repository = models.CharField(max_length=140)
    issue_number = models.PositiveIntegerField()
    issue_url = models.URLField()
    state = models.CharField(max_length=8, choices=State.choices, default=State.OPEN)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "repository", "issue_number", "ticket"], name="escalation_unique_issue"
            )
        ]
        indexes = [models.Index(fields=["organization", "repository", "issue_number"], name="escalation_by_issue")]

    def __str__(self) -> str:
        return f"{self.repository}#{self.issue_number}"


class RoutingRule(TenantModel):
    """Seed 000, "Inbound Support": the topic (and the cohort) decide whether a request stays a ticket."""

    class Action(models.TextChoices):
        KEEP = "keep", "Keep as a ticket"
        FORUM = "forum", "Reply with the forum redirect and close as out of scope"
        FEATURE_TRACKER = "feature_tracker", "Reply with the link to the public feature tracker"

    position = models.PositiveSmallIntegerField(default=0)
    topic = models.CharField(max_length=20, choices=Topic.choices, blank=True, help_text="Empty: any topic.")
    cohort = models.CharField(max_length=16, choices=Cohort.choices, blank=True, help_text="Empty: any cohort.")
    action = models.CharField(max_length=20, choices=Action.choices)
    reply = models.TextField(blank=True, help_text="Merge fields: {first_name}, {forum_url}, {feature_tracker_url}.")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.get_topic_display() or 'Any topic'} → {self.get_action_display()}"


class Macro(TenantModel):
    """A canned reply; merge fields fill in the ticket's details."""

    name = models.CharField(max_length=100)
    body = models.TextField(
        help_text="Merge fields: {first_name}, {ticket_number}, {subject}, {agent_name}, {docs_url}, {forum_url}."
    )

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organization", "name"], name="macro_unique_name")]

    def __str__(self) -> str:
        return self.name


class ChatPresence(TenantModel):
    """When the chat channel last saw the contact online (seed 000: reply by chat only while they are there)."""

    contact = models.OneToOneField(Contact, on_delete=models.CASCADE, related_name="chat_presence")
    last_seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.contact_id} seen {self.last_seen_at}"


class InboundEmailRecord(TenantModel):
    """Every email the inbox received, and what became of it: a bad one is kept with its error, never lost."""

    class Outcome(models.TextChoices):
        NEW_TICKET = "new_ticket", "Opened a ticket"
        REPLY = "reply", "Added to a ticket"
        AUTO_REPLY = "auto_reply", "Automatic reply: noted, nothing reopened"
        DUPLICATE = "duplicate", "Already received"
        REJECTED = "rejected", "Rejected"

    received_at = models.DateTimeField(auto_now_add=True)
    message_id = models.CharField(max_length=250, blank=True)
    from_address = models.CharField(max_length=254, blank=True)
    subject = models.CharField(max_length=250, blank=True)
    outcome = models.CharField(max_length=12, choices=Outcome.choices)
    error = models.TextField(blank=True)
    ticket = models.ForeignKey(Ticket, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    raw = models.BinaryField(blank=True)  # kept for rejected mail, so it can be looked at and replayed

    class Meta:
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["organization", "message_id"], name="inbound_by_message_id")]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()}: {self.subject}"
