"""A TCP proxy on loopback that a test can take down and bring back on the same port.

- stop(): the listening socket closes (new connections are refused, as with a server
  that is down) and every connection it carries is cut (as when a server dies);
- start(): it listens again on the same port and forwards to the target;
- reset_next(n): the next n connections are accepted and reset at once, as a load
  balancer with no healthy backend does; later ones are forwarded;
- hang(): connections it carries are cut, new ones are accepted and then never answered,
  as a pooler (PgBouncer) holding clients while its database is away; start() forwards
  again.
"""

import contextlib
import socket
import struct
import threading


class TcpProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1"):
        self.target = (target_host, target_port)
        self.port = 0  # chosen by the first start(), kept by the next ones
        self.accepted = 0
        self.resets = 0
        self._reset_budget = 0
        self._hanging = False
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._sockets: set[socket.socket] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._listener is not None

    def start(self) -> "TcpProxy":
        if self._listener is not None:
            # Listening already (hang()): forward again; the held clients gave up long ago.
            self._hanging = False
            self._cut_all()
            return self
        listener = socket.socket()
        # The port was ours a moment ago; its cut connections may still be in TIME_WAIT.
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(128)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._thread = threading.Thread(target=self._accept_loop, args=(listener,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            # shutdown() wakes the thread blocked in accept(); close() alone may not.
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        self._cut_all()

    def hang(self) -> None:
        if self._listener is None:
            self.start()
        self._hanging = True
        self._cut_all()

    def _cut_all(self) -> None:
        with self._lock:
            sockets, self._sockets = list(self._sockets), set()
        for sock in sockets:
            _close(sock)

    def reset_next(self, count: int) -> None:
        with self._lock:
            self._reset_budget = count

    def _accept_loop(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # stopped
            with self._lock:
                self.accepted += 1
                reset = self._reset_budget > 0
                if reset:
                    self._reset_budget -= 1
                    self.resets += 1
            if reset:
                # SO_LINGER 0: close() sends RST, so the client sees "connection reset".
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                client.close()
                continue
            if self._hanging:
                with self._lock:
                    self._sockets.add(client)  # held, never read: cut by stop()/hang()
                continue
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)
        with self._lock:
            if self._listener is None:  # stopped meanwhile
                _close(client)
                _close(upstream)
                return
            self._sockets.update((client, upstream))
        pumps_left = [2]  # both directions must end before the pair is closed
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(
                target=self._pump, args=(source, sink, client, upstream, pumps_left), daemon=True
            ).start()

    def _pump(
        self,
        source: socket.socket,
        sink: socket.socket,
        client: socket.socket,
        upstream: socket.socket,
        pumps_left: list[int],
    ) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
            sink.shutdown(socket.SHUT_WR)  # pass the half-close on
        except OSError:
            # Cut by stop() or reset by one side: cut the other side too, which also
            # wakes the pump of the other direction.
            _close(client)
            _close(upstream)
        with self._lock:
            pumps_left[0] -= 1
            finished = pumps_left[0] == 0
            if finished:
                self._sockets.difference_update((client, upstream))
        if finished:
            _close(client)
            _close(upstream)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()
