from django.core.management.base import BaseCommand, CommandError

from accounts import api_keys
from accounts.models import Account
from accounts.scopes import ALL_SCOPES
from oneping.errors import ServiceError


class Command(BaseCommand):
    help = "Create an API key for an account; the key is printed once, alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("account_slug")
        parser.add_argument("--name", required=True)
        parser.add_argument(
            "--scope",
            dest="scopes",
            action="append",
            choices=ALL_SCOPES,
            help="Repeat for each scope; default: all of them (send, read, admin).",
        )

    def handle(self, *args, account_slug: str, name: str, scopes=None, **options):
        account = Account.objects.filter(slug=account_slug).first()
        if account is None:
            raise CommandError(f"No account with the slug {account_slug!r}.")
        try:
            api_key, raw_key = api_keys.issue_key(account, name, scopes or ALL_SCOPES)
        except ServiceError as exc:
            raise CommandError(exc.message) from None
        self.stderr.write(
            f"Created API key {api_key.id} for {account.slug} with the scopes "
            f"{', '.join(api_key.scopes)}. It is shown once:"
        )
        self.stdout.write(raw_key)
