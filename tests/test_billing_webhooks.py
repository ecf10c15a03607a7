"""Stripe's signed webhooks through a real worker: an upgrade lets message 101 through,
bad signatures store nothing, redeliveries apply once, late events cannot undo newer
ones, a cancellation moves to free without losing what was accepted, and a failed
payment shows a banner and emails owners and admins."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.billing import processing
from accounts.models import Account, Membership, StripeEvent
from channels_app.models import Delivery, Message
from tests.conftest import post_send, send, wait_until
from tests.fakes_stripe import PRICE_BUSINESS, event, sign
from tests.fixtures_billing import (
    WEBHOOK_PATH,
    checkout,
    deliver,
    plan_of,
    post_event,
    subscribe,
    use,
)

pytestmark = pytest.mark.worker


def subscription_reads(fake) -> int:
    return sum(1 for r in fake.requests if r.path.startswith("/v1/subscriptions/"))


def test_an_upgrade_through_checkout_lets_message_101_through(
    api, account, owner, slack_channel, fake_stripe, celery_worker
):
    # Given an account on free with its 100 messages used
    use(account, 100)
    assert post_send(api).json()["error"]["code"] == "quota_exceeded"

    # When the owner upgrades and Stripe tells us the payment went through
    session_id = checkout(api, fake_stripe)
    assert fake_stripe.form("/v1/checkout/sessions")[0]["client_reference_id"] == account.pk
    completed = fake_stripe.complete_checkout(session_id)
    processed = [deliver(payload) for payload in fake_stripe.checkout_events(session_id)]

    # Then the account is on pro, linked to its Stripe customer and subscription
    account.refresh_from_db()
    assert plan_of(account) == "pro"
    assert (account.stripe_customer_id, account.stripe_subscription_id) == (
        completed["customer"],
        completed["subscription"],
    )
    assert account.subscription_status == "active"
    assert [row.account_id for row in processed] == [account.pk, account.pk]
    assert [row.error for row in processed] == ["", ""]
    # and message 101 is accepted at once.
    send(api, "the 101st")


def test_a_bad_or_stale_signature_is_refused_and_nothing_is_stored(fake_stripe):
    payload = event("customer.subscription.updated", {"id": "sub_x", "object": "subscription"})
    body_of = __import__("json").dumps(payload).encode()

    refusals = [
        post_event(payload, secret="whsec_someone_elses"),
        post_event(payload, signature=sign(body_of, timestamp=int(time.time()) - 3600)),
        post_event(payload, signature=""),
        post_event(payload, signature="t=1,v1=00"),
    ]

    for response in refusals:
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_signature"
    assert StripeEvent.objects.count() == 0


def test_without_a_webhook_secret_the_webhook_answers_503_and_stores_nothing(fake_stripe, settings):
    payload = event("invoice.paid", {"id": "in_1", "object": "invoice", "customer": "cus_1"})
    signed = sign(__import__("json").dumps(payload).encode())
    settings.STRIPE_WEBHOOK_SECRET = ""

    response = post_event(payload, signature=signed)

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "billing_not_configured"
    assert StripeEvent.objects.count() == 0


def test_the_webhook_takes_only_posts(client):
    assert client.get(WEBHOOK_PATH).status_code == 405


def test_the_same_event_twice_is_applied_once(api, account, fake_stripe, celery_worker):
    subscription_id = subscribe(api, fake_stripe)
    fake_stripe.update_subscription(subscription_id, price=PRICE_BUSINESS)
    payload = event("customer.subscription.updated", fake_stripe.subscription(subscription_id))
    first = deliver(payload)
    reads = subscription_reads(fake_stripe)

    again = post_event(payload)

    assert again.status_code == 200
    assert again.json() == {"received": True, "duplicate": True}
    assert StripeEvent.objects.filter(stripe_id=payload["id"]).count() == 1
    # Nothing is done a second time: no task reads the subscription again.
    time.sleep(1)
    assert subscription_reads(fake_stripe) == reads
    assert StripeEvent.objects.get(pk=first.pk).processed_at == first.processed_at
    assert plan_of(account) == "business"


def test_an_older_update_arriving_late_cannot_undo_a_newer_one(
    api, account, fake_stripe, celery_worker
):
    subscription_id = subscribe(api, fake_stripe)
    older = event(
        "customer.subscription.updated",
        fake_stripe.update_subscription(subscription_id, cancel_at_period_end=True),
        created=int(time.time()) - 60,
    )
    newer = event(
        "customer.subscription.updated",
        fake_stripe.update_subscription(
            subscription_id, cancel_at_period_end=False, price=PRICE_BUSINESS
        ),
    )

    deliver(newer)
    assert plan_of(account) == "business"
    late = deliver(older)  # says pro, cancelling at the period's end

    account.refresh_from_db()
    assert late.error == ""
    assert plan_of(account) == "business"
    assert account.subscription_cancel_at is None


def test_a_cancellation_moves_to_free_and_loses_nothing_accepted(
    api, account, slack_channel, fake_stripe, celery_worker
):
    subscription_id = subscribe(api, fake_stripe)
    accepted = [send(api, f"on pro #{n}")["id"] for n in range(2)]
    use(account, 150)

    # The customer cancels at the period's end: still pro, with the date it ends.
    ending = fake_stripe.update_subscription(subscription_id, cancel_at_period_end=True)
    deliver(event("customer.subscription.updated", ending))
    account.refresh_from_db()
    assert plan_of(account) == "pro"
    assert (
        int(account.subscription_cancel_at.timestamp())
        == (ending["items"]["data"][0]["current_period_end"])
    )
    assert send(api, "still pro")

    # The period ends: Stripe deletes the subscription.
    deliver(
        event(
            "customer.subscription.deleted",
            fake_stripe.update_subscription(subscription_id, status="canceled"),
        )
    )

    account.refresh_from_db()
    assert plan_of(account) == "free"
    assert account.subscription_status == "canceled"
    refused = post_send(api, "over free's quota")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "quota_exceeded"
    # What was accepted before stays, and its deliveries go on.
    assert Message.objects.filter(pk__in=accepted).count() == 2
    wait_until(
        lambda: (
            set(Delivery.objects.filter(message_id__in=accepted).values_list("status", flat=True))
            == {Delivery.Status.DELIVERED}
        )
    )


def test_a_failed_payment_shows_a_banner_and_emails_owners_and_admins(
    api, account, owner, make_member, owner_client, fake_stripe, celery_worker, mailoutbox
):
    admin = make_member(Membership.Role.ADMIN).user
    make_member(Membership.Role.MEMBER)
    subscription_id = subscribe(api, fake_stripe)
    assert "payment-banner" not in owner_client.get("/plan/").content.decode()

    past_due = fake_stripe.update_subscription(subscription_id, status="past_due")
    deliver(event("customer.subscription.updated", past_due))
    invoice = {
        "id": "in_test_1",
        "object": "invoice",
        "customer": past_due["customer"],
        "status": "open",
        "parent": {
            "type": "subscription_details",
            "subscription_details": {"subscription": subscription_id, "metadata": {}},
        },
    }
    deliver(event("invoice.payment_failed", invoice))

    account.refresh_from_db()
    assert plan_of(account) == "pro"  # kept while Stripe retries
    assert account.payment_problem
    page = owner_client.get("/messages/").content.decode()
    assert 'id="payment-banner"' in page
    # One email each to the owner and the admin, none to the member, for the one problem.
    wait_until(lambda: len(mailoutbox) >= 2)
    time.sleep(0.5)
    assert sorted(message.to[0] for message in mailoutbox) == sorted([owner.email, admin.email])
    assert "update your card" in mailoutbox[0].subject

    # Paid after all (the subscription is active again): the banner goes.
    fake_stripe.update_subscription(subscription_id, status="active")
    deliver(event("invoice.paid", {**invoice, "status": "paid"}))
    assert not Account.objects.get(pk=account.pk).payment_problem
    assert 'id="payment-banner"' not in owner_client.get("/messages/").content.decode()


def test_an_event_for_no_account_is_kept_with_the_reason(fake_stripe, celery_worker):
    payload = event("invoice.paid", {"id": "in_2", "object": "invoice", "customer": "cus_nobody"})

    row = deliver(payload)

    assert row.account is None
    assert "No account" in row.error


def test_reprocessing_applies_the_subscriptions_state_of_now(
    api, account, fake_stripe, celery_worker
):
    subscription_id = subscribe(api, fake_stripe)
    row = StripeEvent.objects.filter(type="customer.subscription.updated").get()
    fake_stripe.update_subscription(subscription_id, status="unpaid")

    assert processing.reprocess(StripeEvent.objects.filter(pk=row.pk)) == 1

    wait_until(lambda: plan_of(account) == "free", timeout=30)


def test_the_sweep_processes_an_event_no_task_took(api, account, fake_stripe, celery_worker):
    # Given an event stored while the broker was down: no task was ever sent for it
    subscription_id = subscribe(api, fake_stripe)
    payload = event(
        "customer.subscription.updated",
        fake_stripe.update_subscription(subscription_id, price=PRICE_BUSINESS),
    )
    row = StripeEvent.objects.create(
        stripe_id=payload["id"],
        type=payload["type"],
        payload=payload,
        received_at=timezone.now() - timedelta(minutes=10),
    )
    recent = StripeEvent.objects.create(stripe_id="evt_just_now", type="invoice.paid", payload={})

    assert processing.sweep() == 1

    wait_until(lambda: StripeEvent.objects.get(pk=row.pk).processed_at is not None, timeout=30)
    assert plan_of(account) == "business"
    assert StripeEvent.objects.get(pk=recent.pk).processed_at is None  # its task may still come


def test_beat_sweeps_stripe_events_and_workers_take_them_from_the_inbound_queue(settings):
    from oneping.celery import app

    assert settings.CELERY_BEAT_SCHEDULE["stripe-event-sweep"]["task"] in app.tasks
    assert "accounts.process_stripe_event" in app.tasks
    assert settings.CELERY_TASK_ROUTES["accounts.process_stripe_event"] == {"queue": "inbound"}


def test_a_failure_arriving_after_the_payment_that_fixed_it_shows_no_banner(
    api, account, fake_stripe, celery_worker, mailoutbox
):
    subscription_id = subscribe(api, fake_stripe)
    invoice = {
        "id": "in_test_2",
        "object": "invoice",
        "customer": fake_stripe.subscription(subscription_id)["customer"],
        "parent": {
            "type": "subscription_details",
            "subscription_details": {"subscription": subscription_id, "metadata": {}},
        },
    }
    failed = event("invoice.payment_failed", {**invoice, "status": "open"}, created=1)
    deliver(event("invoice.paid", {**invoice, "status": "paid"}))  # the subscription is active

    late = deliver(failed)

    assert late.error == ""
    assert not Account.objects.get(pk=account.pk).payment_problem
    assert plan_of(account) == "pro"
    assert len(mailoutbox) == 0


def test_a_failed_invoice_without_a_subscription_shows_the_banner(
    api, account, fake_stripe, celery_worker, mailoutbox
):
    subscription_id = subscribe(api, fake_stripe)
    customer = fake_stripe.subscription(subscription_id)["customer"]

    deliver(
        event("invoice.payment_failed", {"id": "in_3", "object": "invoice", "customer": customer})
    )

    assert Account.objects.get(pk=account.pk).payment_problem
    wait_until(lambda: len(mailoutbox) == 1)


def test_a_body_over_the_cap_is_refused_unread(fake_stripe):
    from accounts.billing.receiving import MAX_BODY_BYTES

    payload = event("invoice.paid", {"id": "in_big", "padding": "x" * MAX_BODY_BYTES})

    response = post_event(payload)

    assert response.status_code == 413
    assert response.json()["error"]["details"] == {"limit": MAX_BODY_BYTES}
    assert StripeEvent.objects.count() == 0


def test_a_flood_is_refused_before_any_signature_is_checked(fake_stripe, settings):
    from django.core.cache import cache

    cache.clear()  # the counter is shared (Redis): earlier tests' posts must not count
    settings.ONEPING_INBOUND_RATE_PER_ENDPOINT = 1
    settings.ONEPING_INBOUND_BURST_PER_ENDPOINT = 2
    payload = event("invoice.paid", {"id": "in_1", "object": "invoice", "customer": "cus_x"})

    answers = [post_event(payload, secret="whsec_wrong").status_code for _ in range(4)]

    assert answers[:2] == [400, 400]
    assert answers[2:] == [429, 429]


def test_an_event_about_a_subscription_stripe_does_not_have_is_kept_with_the_reason(
    account, fake_stripe, celery_worker
):
    payload = event(
        "customer.subscription.updated",
        {"id": "sub_elsewhere", "object": "subscription", "metadata": {"account_id": account.pk}},
    )

    row = deliver(payload)

    assert row.account_id == account.pk
    assert row.error == "Stripe has no subscription sub_elsewhere: nothing applied."
    assert plan_of(account) == "free"


def test_stripe_down_while_processing_keeps_the_event_for_later(
    api, account, fake_stripe, celery_worker
):
    subscription_id = subscribe(api, fake_stripe)
    payload = event(
        "customer.subscription.updated",
        fake_stripe.update_subscription(subscription_id, price=PRICE_BUSINESS),
    )
    fake_stripe.fail_with(503)

    assert post_event(payload).status_code == 200  # acknowledged all the same

    row = wait_until(
        lambda: StripeEvent.objects.filter(stripe_id=payload["id"]).exclude(error="").first(),
        timeout=30,
    )
    assert row.processed_at is None
    assert "Stripe could not be reached" in row.error
    assert fake_stripe.secret_key not in row.error
    assert plan_of(account) == "pro"

    fake_stripe.fail_with(None)
    processing.reprocess(StripeEvent.objects.filter(pk=row.pk))
    wait_until(lambda: plan_of(account) == "business", timeout=30)
    assert StripeEvent.objects.get(pk=row.pk).error == ""
