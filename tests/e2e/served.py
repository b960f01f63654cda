"""The real `verinfer serve` as a subprocess with its own job database, for the e2e tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from contracts.chain import free_port

MODEL = "digits-mlp"
# `python -c` rather than the `verinfer` console script: the script is bound to the editable
# install, while `-c` runs the `api` package found from the working directory / PYTHONPATH.
SERVE = [sys.executable, "-c", "from api.cli import main; main()", "serve"]


@dataclass
class Served:
    url: str
    proc: subprocess.Popen[bytes]
    log: Path

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


def wait_for(predicate: Callable[[], bool], what: str, served: Served, timeout: float) -> None:
    """Poll ``predicate`` until true; fail with the gateway's log if it exits or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert served.proc.poll() is None, (
            f"gateway exited ({served.proc.returncode}) before {what}:\n{served.tail()}"
        )
        try:
            if predicate():
                return
        except (httpx.HTTPError, OSError, ValueError):
            pass
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {timeout}s:\n{served.tail()}")


@contextmanager
def serve(tmp: Path, *, stop: bool = True, **settings: str) -> Iterator[Served]:
    """`verinfer serve` with ``VERINFER_<KEY>`` settings; stopped with SIGINT, which must exit 0.

    With ``stop=False`` the caller ends the process itself (a test's kill -9).
    """
    port = free_port()
    env = {**os.environ, "VERINFER_DATABASE_URL": f"sqlite:///{tmp / 'jobs.db'}"}
    env.update({f"VERINFER_{k.upper()}": v for k, v in settings.items()})
    log = tmp / "gateway.log"
    with log.open("wb") as out:  # a file, not a pipe: a full pipe would block the server
        proc = subprocess.Popen(
            [*SERVE, "--port", str(port), "--model", MODEL], stdout=out, stderr=out, env=env
        )
    served = Served(f"http://127.0.0.1:{port}", proc, log)
    try:
        ready = f"{served.url}/v2/health/ready"
        wait_for(lambda: bool(httpx.get(ready).json()["ready"]), "gateway ready", served, 300)
        yield served
    except BaseException:
        proc.kill()
        proc.wait(30)
        raise
    if not stop:
        return
    proc.send_signal(signal.SIGINT)
    try:
        code = proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(f"gateway ignored SIGINT for 30 s:\n{served.tail()}") from None
    assert code == 0, served.tail()
