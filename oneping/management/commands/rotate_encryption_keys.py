from django.core.management.base import BaseCommand, CommandError

from oneping.key_rotation import ROWS_PER_PAGE, rotate_all


class Command(BaseCommand):
    help = (
        "Re-encrypt every stored secret with the first key of ONEPING_ENCRYPTION_KEYS, so "
        "the keys after it can be retired. Safe to run again; reports counts per field."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch", type=int, default=ROWS_PER_PAGE, help="rows per query")

    def handle(self, *args, batch: int, **options):
        counts = rotate_all(batch=batch)
        for count in counts:
            self.stdout.write(
                f"{count.field}: {count.rotated} re-encrypted, {count.current} already on the "
                f"first key, {count.changed} changed meanwhile, {count.unreadable} unreadable"
            )
        unreadable = sum(count.unreadable for count in counts)
        if unreadable:
            # Keep every key listed until these are dealt with: dropping one loses them.
            raise CommandError(f"{unreadable} stored secrets could not be decrypted by any key.")
        total = sum(count.rotated for count in counts)
        self.stdout.write(
            self.style.SUCCESS(
                f"Done: {total} secrets re-encrypted. Keys after the first may now be removed."
            )
        )
