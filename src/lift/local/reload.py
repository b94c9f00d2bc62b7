"""``lift dev``: serve an app on the local gateway, optionally restarting on changes.

Without ``reload`` the gateway runs in this process. With it, a supervisor watches the
Python files under the current directory and runs the gateway in a worker process.
On a change a new worker is started first and imports the app while the old one
still serves; only when the import succeeded is the old worker stopped with SIGTERM
(so its clients get a close frame and ``$disconnect`` runs) and the new one told to
bind the port. A change that breaks the import leaves the old version serving. The
restart costs the old worker's shutdown plus a bind, well under a second.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from typing import Any

__all__ = [
    "DevOptions",
    "port_problem",
    "run_dev_command",
    "run_with_reload",
    "serve",
    "supervise",
]

_READY_FD_ENV = "LIFT_DEV_READY_FD"
_STOP_TIMEOUT = 15.0  # the gateway itself gives connections 10 s to close


@dataclass
class DevOptions:
    """What ``lift dev`` serves and how."""

    target: str
    factory: bool = False
    host: str = "127.0.0.1"
    port: int = 8000
    stage: str = "local"
    static_dir: str | None = None
    log_format: str = "pretty"
    metrics: bool = False
    authorizer: str = "auto"
    """``auto`` (the module's ``authorizer`` when ``websocket_auth`` checks ``$connect``,
    else the app's ``@app.authorizer`` routes), ``none``, or ``MODULE:FUNCTION``."""


def port_problem(host: str, port: int) -> str | None:
    """A one-line reason when ``host:port`` cannot be bound now, else ``None``."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            return _bind_error(host, port, exc)
    return None


def _bind_error(host: str, port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (
            f"error: port {port} on {host} is already in use (another lift dev?); "
            f"choose another with --port"
        )
    if exc.errno == errno.EACCES:
        return f"error: no permission to listen on port {port} on {host}; choose a port above 1023"
    return f"error: cannot listen on {host}:{port}: {exc.strerror or exc}"


def serve(options: DevOptions) -> int:
    """Import the app and serve it until Ctrl+C or SIGTERM; the exit status."""
    _setup_output(options)
    return _serve_app(*_load(options), options)


def _setup_output(options: DevOptions) -> None:
    if options.log_format == "pretty":
        from .devlog import DevOutput

        sys.stdout = DevOutput(sys.stdout, metrics=options.metrics)


def _load(options: DevOptions) -> tuple[Any, Any]:
    """The app and the authorizer to run before its ``$connect`` (one-line exit if not)."""
    from ..loading import load_app
    from .authorize import find_authorizer

    app = load_app(options.target, factory=options.factory)
    return app, find_authorizer(app, options.target, options.authorizer)


def _serve_app(
    app: Any,
    authorizer: Any,
    options: DevOptions,
    *,
    bind_wait: float = 0.0,
    serving_fd: int | None = None,
) -> int:
    from .gateway import Gateway

    gateway = Gateway(
        app,
        host=options.host,
        port=options.port,
        stage=options.stage,
        static_dir=options.static_dir,
        authorizer=authorizer,
    )
    deadline = time.monotonic() + bind_wait
    while True:
        try:
            gateway.start()
            break
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE and time.monotonic() < deadline:
                time.sleep(0.01)
                continue
            print(_bind_error(options.host, options.port, exc), file=sys.stderr)
            return 2
    if serving_fd is not None:
        with contextlib.suppress(OSError):
            os.write(serving_fd, b"2")
            os.close(serving_fd)
    gateway.serve_forever(title=options.target)
    return 0


def run_dev_command(options: DevOptions, *, reload: bool) -> int:
    """``lift dev``: check the port, then serve (with a supervisor when ``reload``)."""
    problem = port_problem(options.host, options.port) if options.port else None
    if problem is not None:
        print(problem, file=sys.stderr)
        return 2
    if reload:
        return supervise(options)
    try:
        return serve(options)
    except KeyboardInterrupt:
        return 0


# -- the supervisor ------------------------------------------------------------------
class _Worker:
    """A worker process: it imports the gateway at once, the app when told to ``load``
    (then says so), and binds and serves when told to ``go``. The supervisor keeps one
    spare worker warm, so a restart costs only the app's own import."""

    def __init__(self, options: DevOptions) -> None:
        ready_read, ready_write = os.pipe()
        env = {**os.environ, _READY_FD_ENV: str(ready_write)}
        self.process = subprocess.Popen(  # noqa: S603 - this interpreter, our own module
            [sys.executable, "-m", "lift.local.reload", json.dumps(asdict(options))],
            stdin=subprocess.PIPE,
            pass_fds=(ready_write,),
            env=env,
        )
        os.close(ready_write)
        self._ready = ready_read

    def _tell(self, word: str) -> None:
        stdin = self.process.stdin
        if stdin is not None:
            with contextlib.suppress(OSError, ValueError):
                stdin.write(word.encode() + b"\n")
                stdin.flush()

    def load(self) -> None:
        """Tell the worker to import the app."""
        self._tell("load")

    def wait_ready(self) -> bool:
        """Block until the app is imported (``True``) or the worker exited (``False``)."""
        ok = os.read(self._ready, 1) == b"1"
        if not ok:
            self.close()
        return ok

    def wait_serving(self, timeout: float = 10.0) -> bool:
        """Block until the worker listens on the port (``False``: it did not)."""
        readable, _, _ = select.select([self._ready], [], [], timeout)
        ok = bool(readable) and os.read(self._ready, 1) == b"2"
        self.close()
        return ok

    def close(self) -> None:
        """Close the readiness pipe."""
        if self._ready >= 0:
            os.close(self._ready)
            self._ready = -1

    def go(self) -> None:
        """Tell the worker to bind and serve."""
        self._tell("go")

    def terminate(self) -> None:
        """SIGTERM: the gateway closes every connection (1001, ``$disconnect`` runs)."""
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGTERM)

    def stop(self) -> None:
        """:meth:`terminate`, then wait for the worker to exit (killed after 15 s)."""
        process = self.process
        if process.poll() is None:
            self.terminate()
            try:
                process.wait(timeout=_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                print("The gateway did not stop in time: killing it", flush=True)
                process.kill()
                process.wait()
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()


def _start(options: DevOptions, current: _Worker | None, spare: _Worker) -> _Worker | None:
    """Load the app in ``spare`` and hand it the port; on a failed import keep ``current``."""
    started = time.perf_counter()
    worker = spare
    worker.load()
    if not worker.wait_ready():
        worker.stop()
        if current is not None:
            print("The app failed to import: still serving the previous version", flush=True)
        else:
            print("The app failed to import: waiting for changes", flush=True)
        return current
    stopping = time.perf_counter()
    if current is not None:
        current.terminate()
    worker.go()  # it binds as soon as the old worker has closed its connections and port
    serving = worker.wait_serving()
    if current is not None:
        current.stop()
    if current is not None and serving:
        now = time.perf_counter()
        print(
            f"Restarted in {now - started:.2f} s "
            f"(the port was closed for {(now - stopping) * 1000:.0f} ms)",
            flush=True,
        )
    return worker


def run_with_reload(
    target: str, *, host: str, port: int, stage: str, static_dir: str | None = None
) -> None:
    """Serve ``target`` and restart it whenever a ``.py`` file under the cwd changes."""
    supervise(DevOptions(target, host=host, port=port, stage=stage, static_dir=static_dir))


def supervise(options: DevOptions) -> int:
    """Serve ``options.target`` and restart it whenever a ``.py`` file under the cwd changes."""
    import watchfiles

    root = os.getcwd()
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(f"Watching {root} for changes (Python files)", flush=True)
    spare = _Worker(options)
    current = _start(options, None, spare)
    spare = _Worker(options)
    try:
        for changes in watchfiles.watch(
            root,
            watch_filter=watchfiles.PythonFilter(),
            debounce=400,
            step=30,
            stop_event=stop,
        ):
            paths = sorted({os.path.relpath(path) for _, path in changes})
            shown = ", ".join(paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
            print(f"Changes in {shown}: restarting the gateway", flush=True)
            current = _start(options, current, spare)
            if spare is current or spare.process.poll() is not None:
                spare = _Worker(options)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        spare.stop()
        if current is not None:
            current.stop()
    return 0


def _stop_with_supervisor() -> None:
    """Stop this worker (as SIGTERM does) when the supervisor goes away."""
    while sys.stdin.readline():
        pass
    os.kill(os.getpid(), signal.SIGTERM)


def _worker_main(raw: str) -> int:
    """A supervised worker: import, report ready, wait for ``go``, serve."""
    options = DevOptions(**json.loads(raw))
    ready = int(os.environ.pop(_READY_FD_ENV))
    _setup_output(options)
    from . import gateway  # noqa: F401 - imported while the previous worker still serves

    if sys.stdin.readline().strip() != "load":
        return 0
    app, authorizer = _load(options)
    os.write(ready, b"1")
    if sys.stdin.readline().strip() != "go":
        return 0
    threading.Thread(target=_stop_with_supervisor, name="lift-supervisor", daemon=True).start()
    return _serve_app(app, authorizer, options, bind_wait=_STOP_TIMEOUT, serving_fd=ready)


if __name__ == "__main__":
    try:
        sys.exit(_worker_main(sys.argv[1]))
    except KeyboardInterrupt:
        sys.exit(0)
