from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email

from accounts import services
from accounts.models import User


class Command(BaseCommand):
    help = "Create a verified user with a new account they own; prints the account slug."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--password", required=True)
        parser.add_argument("--name", help="Account name (default: the email's local part).")

    def handle(self, *args, email: str, password: str, name: str | None, **options):
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"{email!r} is not a valid email address.") from None
        if User.objects.filter(email__iexact=email).exists():
            raise CommandError(f"A user with the email {email} already exists.")
        _, account = services.create_user_with_account(
            email=email, password=password, account_name=name
        )
        self.stdout.write(account.slug)
