"""A tiny channel kind that exists only in tests: registered at runtime (tests/test_layout.py)
to show that a kind needs one folder and one registry line, nothing else."""

from typing import Any, ClassVar

from django import forms

from channels_app.integrations.base import ConfigError, Integration, Outgoing, SendResult

PAGER_PATH = "tests.fake_kind.PagerIntegration"


class PagerIntegration(Integration):
    kind = "pager"
    title = "Pager"
    simulated_as = "chat"
    setup_help = "Ask your pager company for the account's `pin`."
    secret_fields = ("pin",)
    secret_destinations: ClassVar[dict[str, tuple[str, ...]]] = {"pin": ()}
    form_fields: ClassVar[dict[str, forms.Field]] = {
        "pin": forms.CharField(label="PIN", widget=forms.PasswordInput)
    }
    contact_field = forms.CharField(required=False, help_text="A pager number.")
    unresolved_hint = "add a contact with addresses.pager."
    test_recipient_hint = "A pager number."

    def clean_config(self, config: dict[str, Any]) -> dict[str, Any]:
        pin = config.get("pin")
        if not isinstance(pin, str) or not pin.isdigit():
            raise ConfigError("pin", "Enter the PIN: digits only.")
        return {"pin": pin}

    def address_from_recipient(self, recipient: str) -> str | None:
        return recipient if recipient.isdigit() else None

    def send(self, config: dict[str, Any], outgoing: Outgoing) -> SendResult:
        return SendResult(provider_message_id=f"page-{outgoing.target}")
