"""One object of every kind an account owns, for tests that attack them by id.

`make_objects(account)` is used by the schema fuzzer (so generated requests can reach real
objects) and by the tenant-isolation test (so account B can aim at account A's). Nothing
here contacts a provider: sends are queued after the commit, which a test transaction
never reaches, and no worker runs.

Given an account's test environment (accounts.environments), it makes the same objects
there, made as an op_test_ key would, except people: members and invitations belong to the
live account only, so a test environment's `membership` and `invitation` are None.
"""

from dataclasses import dataclass

from django.utils import timezone

from accounts import api_keys, invitations, services
from accounts.models import Account, ApiKey, Invitation, Membership
from channels_app.accepting import accept_message
from channels_app.models import ChannelConfig, Contact, Delivery, Message, Suppression
from webhooks import events
from webhooks.inbound.receiving import token_hash
from webhooks.models import (
    Event,
    InboundEndpoint,
    InboundEvent,
    WebhookAttempt,
    WebhookEndpoint,
)
from webhooks.signing import new_secret

SLACK_URL = "https://hooks.slack.example/services/T000/B000/XXXX"


@dataclass
class Objects:
    api_key: ApiKey
    channel: ChannelConfig
    contact: Contact
    message: Message
    delivery: Delivery  # failed: a dead letter that can be retried
    webhook_endpoint: WebhookEndpoint
    event: Event
    inbound_endpoint: InboundEndpoint
    inbound_event: InboundEvent  # failed: can be reprocessed
    membership: Membership | None  # a second member (admin), besides the owner
    invitation: Invitation | None  # pending
    suppression: Suppression  # a hard-bounced address


def make_objects(account: Account, tag: str = "") -> Objects:
    tag = tag or account.slug
    api_key, _ = api_keys.issue_key(account, f"{tag} target key")
    channel = ChannelConfig.objects.filter(account=account, kind="slack").first()
    if channel is None:
        channel = ChannelConfig.objects.create(
            account=account, kind="slack", config={"webhook_url": SLACK_URL}
        )
    contact = Contact.objects.create(
        account=account, identifier=f"{tag}-ops", name=f"{tag} ops", addresses={}
    )
    accepted = accept_message(
        account,
        {
            "message": f"secret text of {tag}",
            "channels": ["slack"],
            "recipient": contact.identifier,
        },
    )
    message = Message.objects.get(pk=accepted.body["id"])
    delivery = message.deliveries.get()
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.FAILED, attempts=1, last_error=f"HTTP 500 for {tag}"
    )
    delivery.refresh_from_db()

    webhook_endpoint = WebhookEndpoint.objects.create(
        account=account,
        url=f"https://{tag}.example/oneping-events",
        description=f"{tag} endpoint",
        secret=new_secret(),
    )
    event = events.create_event(
        account, events.TEST_EVENT, {"secret": f"payload of {tag}"}, endpoints=[webhook_endpoint]
    )
    webhook_delivery = event.webhook_deliveries.get()
    WebhookAttempt.objects.create(
        webhook_delivery=webhook_delivery,
        endpoint=webhook_endpoint,
        event=event,
        url=webhook_endpoint.url,
        status_code=500,
        response_body=f"error page of {tag}",
        trigger=webhook_delivery.trigger,
    )

    token = f"tok-{tag}-{account.pk}"
    inbound_endpoint = InboundEndpoint.objects.create(
        account=account,
        name=f"{tag} inbound",
        verification="hmac_sha256",
        secret=f"inbound secret of {tag}",
        token=token,
        token_hash=token_hash(token),
        rules=[
            {
                "event": "*",
                "message": "{{ text }}",
                "subject": "",
                "recipient": contact.identifier,
                "channels": ["slack"],
                "fallback_channels": [],
            }
        ],
    )
    inbound_event = InboundEvent.objects.create(
        account=account,
        endpoint=inbound_endpoint,
        event_type="order.paid",
        dedup_key=f"dedup-{tag}",
        headers={"X-Tag": tag},
        body=f'{{"text": "inbound body of {tag}"}}'.encode(),
        content_type="application/json",
        status=InboundEvent.Status.FAILED,
        error=f"failure of {tag}",
        processed_at=timezone.now(),
    )

    membership = invitation = None
    if account.livemode:
        member, _ = services.create_user_with_account(
            email=f"member-{tag}-{account.pk}@example.com".lower(),
            password="correct-horse-battery",
            account_name=f"{tag} member's own",
        )
        membership = Membership.objects.create(account=account, user=member, role="admin")
        invitation, _ = invitations.create_invitation(
            account, f"invitee-{tag}@example.com".lower(), "member"
        )
    suppression = Suppression.objects.create(
        account=account,
        channel="email",
        address=f"{tag}-bounced@example.com".lower(),
        reason=Suppression.Reason.HARD_BOUNCE,
        description=f"550 mailbox of {tag} unknown",
        delivery=delivery,
    )
    return Objects(
        api_key=api_key,
        channel=channel,
        contact=contact,
        message=message,
        delivery=delivery,
        webhook_endpoint=webhook_endpoint,
        event=event,
        inbound_endpoint=inbound_endpoint,
        inbound_event=inbound_event,
        membership=membership,
        invitation=invitation,
        suppression=suppression,
    )
