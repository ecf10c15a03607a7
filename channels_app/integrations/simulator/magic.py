"""The magic recipients of test mode: one table, read by the simulator, the dashboard's
test-mode page and the README's (tests/test_simulator_table.py keeps the README's in step).

Recipients are matched per address family, which each channel kind declares
(Integration.simulated_as): email addresses, phone numbers, chat identifiers. Anything
not in the table is delivered.
"""

from dataclasses import dataclass

EMAIL, PHONE, CHAT = "email", "phone", "chat"
EMAIL_DOMAIN = "sim.oneping.test"
# The fictional range: 555-0100 to 555-0199 in any US area code (the North American
# Numbering Plan reserves it for fiction: https://nationalnanpa.com/number_resource_info/
# 555_numbers.html). The simulator reads the last four digits of such a number.
PHONE_EXAMPLE_PREFIX = "+1 415 555 "


@dataclass(frozen=True)
class Magic:
    family: str
    # What to write as the recipient (for email, the local part before @sim.oneping.test;
    # for phones, the last four digits of a 555-01xx number; for chats, the word).
    recipient: str
    outcome: str  # what happens, in words
    # The statuses the delivery passes through, the last one its end.
    statuses: tuple[str, ...]
    # For phones: statuses when the kind reports read receipts (WhatsApp), if different.
    statuses_with_read: tuple[str, ...] | None = None
    # How the simulator plays it (simulator/transport.py): the attempts that fail
    # transiently first (counted by the delivery's attempts), with a 429's retry_after when
    # set; a permanent refusal's words; then what the provider reports after accepting the
    # message, in order (simulator/callbacks.py names them), the first one `reports_after`
    # seconds after the send (None: ONEPING_SIMULATOR_REPORT_DELAY_SECONDS).
    transient: int = 0
    retry_after: float | None = None
    refusal: str = ""
    reports: tuple[str, ...] = ("delivered",)
    reports_after: float | None = None

    @property
    def example(self) -> str:
        if self.family == EMAIL:
            return f"{self.recipient}@{EMAIL_DOMAIN}"
        if self.family == PHONE:
            return f"{PHONE_EXAMPLE_PREFIX}{self.recipient}"
        return self.recipient


TABLE: tuple[Magic, ...] = (
    Magic(EMAIL, "delivered", "delivered", ("sent", "delivered")),
    Magic(
        EMAIL,
        "bounced",
        "hard bounce; the address joins the test environment's suppression list, so the "
        "next send to it fails at once",
        ("sent", "bounced"),
        reports=("bounced",),
    ),
    Magic(
        EMAIL,
        "soft-bounce",
        "deferred, then delivered",
        ("sent", "delivered"),
        reports=("deferred", "delivered"),
    ),
    Magic(
        EMAIL,
        "complained",
        "delivered, then a spam complaint; the address joins the test environment's "
        "suppression list",
        ("sent", "delivered", "complained"),
        reports=("delivered", "complained"),
    ),
    Magic(
        EMAIL,
        "opened",
        "delivered, then opened",
        ("sent", "delivered", "opened"),
        reports=("delivered", "opened"),
    ),
    Magic(
        EMAIL,
        "clicked",
        "delivered, opened, then clicked",
        ("sent", "delivered", "opened", "clicked"),
        reports=("delivered", "opened", "clicked"),
    ),
    Magic(
        EMAIL,
        "failed",
        "refused at once (permanent failure)",
        ("failed",),
        refusal="550 5.7.1 the receiving server refused the message",
    ),
    Magic(
        EMAIL,
        "retry",
        "two transient failures, then delivered",
        ("retrying", "retrying", "sent", "delivered"),
        transient=2,
    ),
    Magic(EMAIL, "slow", "delivered after 5 seconds", ("sent", "delivered"), reports_after=5.0),
    Magic(PHONE, "0100", "delivered", ("sent", "delivered")),
    Magic(
        PHONE,
        "0101",
        "failed: invalid number",
        ("failed",),
        refusal="the number is not a valid mobile number",
    ),
    Magic(
        PHONE,
        "0102",
        "delivered, then read (WhatsApp); delivered (SMS)",
        ("sent", "delivered"),
        statuses_with_read=("sent", "delivered", "read"),
        reports=("delivered", "read"),
    ),
    Magic(
        PHONE,
        "0103",
        "a transient failure, then delivered",
        ("retrying", "sent", "delivered"),
        transient=1,
    ),
    Magic(
        PHONE,
        "0104",
        "sent, then reported undelivered",
        ("sent", "failed"),
        reports=("undelivered",),
    ),
    Magic(CHAT, "delivered", "delivered", ("delivered",), reports=()),
    Magic(
        CHAT,
        "failed",
        "refused (permanent failure)",
        ("failed",),
        refusal="the chat refused the message",
    ),
    Magic(
        CHAT,
        "retry",
        "a transient failure, then delivered",
        ("retrying", "delivered"),
        transient=1,
        reports=(),
    ),
    Magic(
        CHAT,
        "rate-limited",
        "a 429 asking to wait 1 second (one attempt), then delivered",
        ("retrying", "delivered"),
        transient=1,
        retry_after=1.0,
        reports=(),
    ),
)


def lookup(family: str, recipient: str) -> Magic | None:
    """The magic entry a resolved address names, or None (delivered)."""
    for magic in TABLE:
        if magic.family == family and magic.recipient == recipient:
            return magic
    return None


def kinds_of(family: str) -> list[str]:
    """The channel kinds whose deliveries answer to `family`'s magic recipients, in the
    registry's order (what the README's and the dashboard's tables list per row)."""
    from channels_app.integrations import channel_kinds, get_integration

    return [kind for kind in channel_kinds() if get_integration(kind).simulated_as == family]
