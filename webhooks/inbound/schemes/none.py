"""No verification: whoever holds the URL may post (the URL's token is the only secret)."""

from webhooks.inbound.schemes.base import Preset, Scheme


class NoVerification(Scheme):
    name = "none"
    label = "None"
    needs_secret = False
    presets = (
        # Jotform cannot sign or add headers: the URL is the secret. It posts the fields
        # formID, submissionID, formTitle, pretty ("Question:Answer, …") and rawRequest
        # (the answers as JSON) as a form: https://www.jotform.com/help/245-how-to-setup-a-webhook-with-jotform/
        Preset(
            key="jotform",
            name="Jotform: new submissions",
            position=61,
            # The form's title: one endpoint can serve several forms, a rule each.
            settings=(("event_type_from", {"path": "formTitle"}),),
            rules=(
                {
                    "event": "*",
                    "subject": "New submission to {{ formTitle }}",
                    "message": "New submission to {{ formTitle }}: {{ pretty }}",
                },
            ),
        ),
    )

    def verify(self, body, headers, secret, **options) -> None:
        return None
