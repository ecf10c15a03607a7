"""A private redis-server for one test: nothing persisted, so a restart starts empty,
as a broker that lost its memory does."""

import shutil
import signal
import socket
import time

from tests.faults.processes import Processes, Spawned, free_port, wait_for_port


class PrivateRedis:
    def __init__(self, processes: Processes):
        if shutil.which("redis-server") is None:
            raise RuntimeError("redis-server is not installed")
        self.processes = processes
        self.port = free_port()
        self.server: Spawned | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> "PrivateRedis":
        argv = [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
            "--dir",
            str(self.processes.log_dir),
        ]
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin"}
        self.server = self.processes.start(f"redis-{self.port}", argv, env, service=True)
        wait_for_port(self.port, 10, self.server)
        return self

    def stop(self) -> None:
        """Gone at once, as a crashed broker is (SIGKILL: no goodbye to its clients)."""
        if self.server is not None:
            self.server.kill(signal.SIGKILL)
            self.server.stop()
            self.server = None
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _listening(self.port):
            time.sleep(0.05)


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), 0.2):
            return True
    except OSError:
        return False
