"""REST API of the inbox: tickets and their conversation, with the same rules as the pages."""

from django.db import transaction
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.apis import MemberField
from core.api import TenantModelViewSet, permissions_by_method
from core.permissions import Permission
from tickets import services
from tickets.filters import TicketFilterSet
from tickets.models import Channel, Message, Priority, Status, Ticket, Topic
from tickets.selectors import TICKET_SORTS, tickets_for_api


class TicketSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(source="number", read_only=True, help_text="The ticket number in its organization.")
    requester = serializers.SerializerMethodField()
    owner = MemberField(required=False, allow_null=True)
    tags = serializers.SerializerMethodField()

    class Meta:
        model = Ticket
        fields = [
            "id", "subject", "requester", "account", "channel", "topic", "priority", "status", "owner", "tags",
            "sla_due_at", "sla_breached_at", "first_response_at", "last_customer_message_at",
            "last_agent_message_at", "closed_at", "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = [
            "account", "channel", "sla_due_at", "sla_breached_at", "first_response_at", "last_customer_message_at",
            "last_agent_message_at", "closed_at", "created_at", "updated_at",
        ]  # fmt: skip

    TIMESTAMPS = (
        "sla_due_at", "sla_breached_at", "first_response_at", "last_customer_message_at", "last_agent_message_at",
        "closed_at", "created_at", "updated_at",
    )  # fmt: skip

    def to_representation(self, ticket: Ticket) -> dict:
        """The same fields as the generic path (a test compares them), built directly: the list endpoint spends
        most of its time here at 25 rows a page (bench/bench_inbox.py)."""
        zone = timezone.get_current_timezone()

        def stamp(value):
            # What DRF's DateTimeField writes (ISO 8601 in the current zone, "Z" for UTC), without its per-call
            # machinery: building the serializer's fields and converting 200 stamps cost half the page's time.
            if value is None:
                return None
            text = value.astimezone(zone).isoformat()
            return text[:-6] + "Z" if text.endswith("+00:00") else text

        return {
            "id": ticket.number,
            "subject": ticket.subject,
            "requester": self.get_requester(ticket),
            "account": ticket.account_id,
            "channel": ticket.channel,
            "topic": ticket.topic,
            "priority": ticket.priority,
            "status": ticket.status,
            "owner": ticket.owner_id,
            "tags": self.get_tags(ticket),
            **{name: stamp(getattr(ticket, name)) for name in self.TIMESTAMPS},
        }

    def get_requester(self, ticket: Ticket) -> str:
        if hasattr(ticket, "requester_email"):
            return ticket.requester_email or ""
        return ticket.requester.email if ticket.requester_id else ""

    def get_tags(self, ticket: Ticket) -> list[str]:
        if hasattr(ticket, "tag_names"):
            return list(ticket.tag_names)
        return sorted(tag.name for tag in ticket.tags.all())


class TicketCreateSerializer(serializers.Serializer):
    subject = serializers.CharField(max_length=250)
    body = serializers.CharField(help_text="The customer's first message (plain text).")
    requester_email = serializers.EmailField()
    requester_name = serializers.CharField(required=False, allow_blank=True)
    channel = serializers.ChoiceField(choices=[Channel.API, Channel.CONTACT_FORM], default=Channel.API)
    topic = serializers.ChoiceField(choices=Topic.choices, default=Topic.APPLICATION)
    priority = serializers.ChoiceField(choices=Priority.choices, default=Priority.P2)
    tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False)


class TicketUpdateSerializer(serializers.Serializer):
    subject = serializers.CharField(max_length=250, required=False)
    topic = serializers.ChoiceField(choices=Topic.choices, required=False)
    priority = serializers.ChoiceField(choices=Priority.choices, required=False)
    status = serializers.ChoiceField(choices=Status.choices, required=False)
    owner = MemberField(required=False, allow_null=True)
    tags = serializers.ListField(child=serializers.CharField(max_length=50), required=False)


class MessageSerializer(serializers.ModelSerializer):
    author = serializers.SerializerMethodField()

    class Meta:
        model = Message
        fields = [
            "id",
            "kind",
            "author",
            "channel",
            "body_text",
            "body_html",
            "delivery",
            "delivery_error",
            "created_at",
        ]

    def get_author(self, message: Message) -> str:
        if message.author_id:
            return message.author.email
        return message.author_contact.email if message.author_contact_id else ""


class MessageCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["reply", "comment", "customer"])
    body = serializers.CharField()
    status = serializers.ChoiceField(
        choices=Status.choices, required=False, help_text="For a reply: the status after it (default pending_customer)."
    )


@extend_schema_view(
    list=extend_schema(
        summary="List tickets",
        description="Keyset-paginated. `view`: unassigned, mine, open (default), pending, breaching, closed.",
    ),
    create=extend_schema(
        summary="Open a ticket",
        request=TicketCreateSerializer,
        responses={201: TicketSerializer},
        description="For the contact form and integrations: the requester is found or created by email.",
    ),
    retrieve=extend_schema(summary="Get a ticket"),
    partial_update=extend_schema(summary="Change a ticket", request=TicketUpdateSerializer),
)
class TicketViewSet(TenantModelViewSet):
    http_method_names = ["get", "post", "patch", "head", "options"]
    queryset = Ticket.objects.none()
    serializer_class = TicketSerializer
    filterset_class = TicketFilterSet
    sorts = TICKET_SORTS
    default_sort = "sla_due_at"
    lookup_field = "number"
    lookup_url_kwarg = "number"
    permission_by_method = permissions_by_method(write=Permission.TICKET_WORK, delete=Permission.ORGANIZATION_MANAGE)

    def get_queryset(self):
        return tickets_for_api()

    def filter_queryset(self, queryset):
        # The inbox filters (and the default "open" view) choose what a list shows; a ticket by number is found
        # whatever its status.
        return super().filter_queryset(queryset) if self.action == "list" else queryset

    def create(self, request, *args, **kwargs):
        serializer = TicketCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        ticket = services.ticket_create(tenant=self.tenant, **serializer.validated_data)
        return Response(
            TicketSerializer(self.get_queryset().get(pk=ticket.pk), context=self.get_serializer_context()).data,
            status=201,
        )

    @transaction.atomic
    def partial_update(self, request, *args, **kwargs):
        ticket = self.get_object()
        serializer = TicketUpdateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        values = dict(serializer.validated_data)
        if "owner" in values:
            ticket = services.ticket_assign(tenant=self.tenant, ticket=ticket, owner=values.pop("owner"))
        if "status" in values:
            ticket = services.ticket_status_set(tenant=self.tenant, ticket=ticket, status=values.pop("status"))
        if values:
            ticket = services.ticket_update(tenant=self.tenant, ticket=ticket, **values)
        return Response(
            TicketSerializer(self.get_queryset().get(pk=ticket.pk), context=self.get_serializer_context()).data
        )

    @extend_schema(
        summary="The customer is online in the chat",
        description="Called by the chat channel while the requester has the chat open; replies then go by chat "
        "(seed 000) until two minutes after the last call.",
        request=None,
        responses={204: None},
    )
    @action(detail=True, methods=["post"], url_path="presence")
    def presence(self, request, number=None):
        ticket = self.get_object()
        if ticket.requester is not None:
            services.chat_presence_touch(tenant=self.tenant, contact=ticket.requester)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(summary="The conversation of a ticket", responses=MessageSerializer(many=True))
    @action(detail=True, methods=["get"], url_path="messages")
    def messages(self, request, number=None):
        ticket = self.get_object()
        messages = (
            Message.objects.filter(ticket=ticket)
            .select_related("author", "author_contact")
            .order_by("created_at", "id")
        )
        return Response(MessageSerializer(messages, many=True).data)

    @extend_schema(
        summary="Add a reply, an internal comment or a customer message",
        request=MessageCreateSerializer,
        responses={201: MessageSerializer},
    )
    @messages.mapping.post
    def add_message(self, request, number=None):
        ticket = self.get_object()
        serializer = MessageCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        kind, body = serializer.validated_data["kind"], serializer.validated_data["body"]
        if kind == "comment":
            message = services.ticket_comment(tenant=self.tenant, ticket=ticket, body=body)
        elif kind == "customer":
            _, message = services.customer_message_add(
                tenant=self.tenant, ticket=ticket, body=body, channel=Channel.API
            )
        else:
            message = services.ticket_reply(
                tenant=self.tenant, ticket=ticket, body=body,
                status=serializer.validated_data.get("status", Status.PENDING_CUSTOMER),
            )  # fmt: skip
        return Response(MessageSerializer(message).data, status=status.HTTP_201_CREATED)
