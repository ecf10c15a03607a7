"""The embedded default's broker: Kombu's filesystem transport, made safe for several processes.

Kombu's own `_put` creates the message file and then writes into it, so a worker listing the
folder in between reads an empty or half-written file (`JSONDecodeError` in the worker, and
the task is gone until the outbox sweep finds its row). Here a message is written under a
name `_get` ignores and renamed into place, so readers only ever see whole files; and `_get`
claims a file by renaming it inside the data folder (one filesystem, so the rename is atomic
and exactly one consumer wins), where Kombu moves it to the system temp folder, which may be
another filesystem (copy, then delete: two consumers can both get it).

oneping/celery.py points the `filesystem://` scheme here.
"""

import os
import uuid
from queue import Empty
from time import monotonic
from typing import Any

from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads


class Channel(filesystem.Channel):
    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        # A leading dot: `_get` matches names whose part after the first dot is `<queue>.msg`.
        partial = os.path.join(self.data_folder_out, f".{name}.partial")
        try:
            with open(partial, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(partial, os.path.join(self.data_folder_out, name))
        except OSError as exc:
            raise filesystem.ChannelError(f"Cannot add a message to queue {queue!r}") from exc

    def _get(self, queue: str) -> Any:
        wanted = f"{queue}.msg"
        for filename in sorted(os.listdir(self.data_folder_in)):
            if filename.partition(".")[2] != wanted:
                continue
            claimed = os.path.join(self.processed_folder, filename)
            try:
                os.rename(os.path.join(self.data_folder_in, filename), claimed)
            except FileNotFoundError:
                continue  # another consumer took it
            try:
                with open(claimed, "rb") as f:
                    payload = f.read()
                if not self.store_processed:
                    os.remove(claimed)
            except OSError as exc:
                raise filesystem.ChannelError(f"Cannot read a message from {queue!r}") from exc
            return loads(bytes_to_str(payload))
        raise Empty()


class Transport(filesystem.Transport):
    Channel = Channel
