from django.core.management.base import BaseCommand, CommandError

from accounts import api_keys
from accounts.models import Account


class Command(BaseCommand):
    help = "Create an API key for an account; the key is printed once, alone on the last line."

    def add_arguments(self, parser):
        parser.add_argument("account_slug")
        parser.add_argument("--name", required=True)

    def handle(self, *args, account_slug: str, name: str, **options):
        account = Account.objects.filter(slug=account_slug).first()
        if account is None:
            raise CommandError(f"No account with the slug {account_slug!r}.")
        api_key, raw_key = api_keys.issue_key(account, name)
        self.stderr.write(f"Created API key {api_key.id} for {account.slug}. It is shown once:")
        self.stdout.write(raw_key)
