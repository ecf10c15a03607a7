"""The embedded default's broker (oneping/broker.py): a consumer never sees a half-written
message, and two consumers never get the same one."""

import threading
import time
from collections import Counter
from pathlib import Path
from queue import Empty

from kombu import Connection

import oneping.celery  # noqa: F401  (points filesystem:// at oneping.broker)
from oneping.broker import Transport

MESSAGES = 300
# Large enough that writing one takes several system calls' worth of time.
BODY = "x" * 256 * 1024


def connection(folder: Path) -> Connection:
    options = {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "processed_folder": str(folder / "processed"),
        "control_folder": str(folder / "control"),
        "polling_interval": 0.01,
    }
    for name in ("queue", "processed", "control"):
        (folder / name).mkdir(exist_ok=True)
    return Connection("filesystem://", transport_options=options)


def test_filesystem_urls_use_the_atomic_transport(tmp_path):
    with connection(tmp_path) as conn:
        assert isinstance(conn.transport, Transport)


def test_consumers_racing_a_producer_read_whole_messages_each_exactly_once(tmp_path):
    # The channel's own _put/_get, as Kombu's virtual transport calls them: what is under
    # test is the file protocol, not Kombu's consumer machinery.
    got: list[str] = []
    errors: list[BaseException] = []
    produced = threading.Event()

    def consume() -> None:
        with connection(tmp_path) as conn:
            channel = conn.default_channel
            try:
                while not errors and not (produced.is_set() and len(got) >= MESSAGES):
                    try:
                        payload = channel._get("race")
                    except Empty:
                        time.sleep(0.001)
                        continue
                    assert payload["body"] == BODY
                    got.append(payload["n"])
            except BaseException as exc:  # Kombu's own transport: JSONDecodeError
                errors.append(exc)

    consumers = [threading.Thread(target=consume) for _ in range(3)]
    for thread in consumers:
        thread.start()
    with connection(tmp_path) as conn:
        for n in range(MESSAGES):
            conn.default_channel._put("race", {"n": str(n), "body": BODY})
    produced.set()
    for thread in consumers:
        thread.join(timeout=120)

    assert errors == []
    counts = Counter(got)
    assert sorted(counts, key=int) == [str(n) for n in range(MESSAGES)]
    assert max(counts.values()) == 1
