from django.core.management.base import BaseCommand, CommandError

from accounts import api_keys, environments
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
        parser.add_argument(
            "--test",
            action="store_true",
            help="An op_test_ key: it acts in the account's test environment (test mode).",
        )

    def handle(self, *args, account_slug: str, name: str, scopes=None, test=False, **options):
        account = Account.objects.filter(slug=account_slug, livemode=True).first()
        if account is None:
            raise CommandError(f"No account with the slug {account_slug!r}.")
        if test:
            account = environments.test_environment(account)
        try:
            api_key, raw_key = api_keys.issue_key(account, name, scopes or ALL_SCOPES)
        except ServiceError as exc:
            raise CommandError(exc.message) from None
        self.stderr.write(
            f"Created {'test-mode ' if test else ''}API key {api_key.id} for {account_slug} "
            "with the scopes "
            f"{', '.join(api_key.scopes)}. It is shown once:"
        )
        self.stdout.write(raw_key)
