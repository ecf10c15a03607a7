"""No verification: whoever holds the URL may post (the URL's token is the only secret)."""

from webhooks.inbound.schemes.base import Scheme


class NoVerification(Scheme):
    name = "none"
    label = "None"
    needs_secret = False

    def verify(self, body, headers, secret, **options) -> None:
        return None
