"""``mtc serve``: the project's configurator.ipynb as a dashboard, served by Voila.

Voila runs as a child process of this Python (``python -m voila``); nothing here imports it.
It keeps one kernel preheated: the configurator does its slow imports before a page is asked
for and builds the app (from the database as it is then) when one is. Kernels of pages that
were closed are culled once idle; the configurator stops polling when no stage trains, so an
abandoned page does not keep its kernel busy.

Off loopback (``--ip 0.0.0.0`` on a cluster node) anyone who reaches the port could create,
delete and train stages, so Voila then requires a token (jupyter_server's token auth): the
one given with ``--token``, or a generated one printed with the URL. On 127.0.0.1 the page
stays token-free unless ``--token`` is given (reach it from a laptop through an SSH tunnel).
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import os
import secrets
import signal
import socket
import subprocess
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from ..errors import MtcError

NOTEBOOK = "configurator.ipynb"
TEMPLATE = "mtc"  # jupyter/voila/templates/mtc: Voila's lab page without CDN links (every asset served locally)
JUPYTER_DATA = Path(__file__).parent / "jupyter"
REQUIRED = (NOTEBOOK, "problem.py")
DEFAULT_PORT = 8866
DEFAULT_IP = "127.0.0.1"
CULL_IDLE_S = 600
CULL_INTERVAL_S = 60
STOP_TIMEOUT_S = 20


def register(commands: argparse._SubParsersAction) -> None:
    serve = commands.add_parser("serve", help="serve configurator.ipynb as a dashboard (Voila) at http://IP:PORT/")
    add_address_options(serve)
    serve.add_argument(
        "--cull-idle", type=int, default=CULL_IDLE_S, metavar="S",
        help=f"shut down the kernel of a closed page after S idle seconds (default {CULL_IDLE_S})",
    )  # fmt: skip
    serve.set_defaults(handler=run_serve)


def add_address_options(parser: argparse.ArgumentParser) -> None:
    """``--port``, ``--ip`` and ``--token``, shared by ``mtc serve`` and ``mtc demo``."""
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port to listen on (default {DEFAULT_PORT})")
    parser.add_argument("--ip", default=DEFAULT_IP, help=f"address to listen on (default {DEFAULT_IP}; 0.0.0.0 for all)")
    parser.add_argument(
        "--token", help="token the page asks for (default: none on 127.0.0.1, a generated one on any other --ip)"
    )


def access_token(ip: str, token: str | None) -> str | None:
    """The token Voila requires: ``token`` if given, none on a loopback address, else a new random one."""
    if token is not None:
        if not token.strip():
            raise MtcError("--token must not be empty (leave it out for a generated one)")
        return token
    try:
        loopback = ip == "localhost" or ipaddress.ip_address(ip).is_loopback
    except ValueError:
        loopback = False  # a host name: reachable from elsewhere
    return None if loopback else secrets.token_urlsafe(24)


def check_project(project: Path) -> None:
    """Refuse a folder that is not an mtc project (it needs configurator.ipynb and problem.py)."""
    if not project.is_dir():
        raise MtcError(f"{project} is not a folder: give a project folder with -C DIR (create one with `mtc create`)")
    missing = [name for name in REQUIRED if not (project / name).is_file()]
    if missing:
        raise MtcError(
            f"{project} is not an mtc project: {' and '.join(missing)} missing "
            "(create a project with `mtc create NAME`, or restore the notebook with `mtc create NAME --force`)"
        )


def check_port(ip: str, port: int) -> None:
    """Refuse a port outside 1-65535 or one that something already listens on."""
    if not 1 <= port <= 65535:
        raise MtcError(f"--port must be between 1 and 65535, got {port}")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(ip, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as exc:
        raise MtcError(
            f"cannot listen on {ip!r}: {exc.strerror} (give an address such as 127.0.0.1 or 0.0.0.0)"
        ) from None
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise MtcError(
                f"port {port} on {ip} is not free ({exc.strerror}): another program (maybe another `mtc serve`) "
                f"uses it; choose another port with --port"
            ) from None


def voila_command(ip: str, port: int, cull_idle: int, token: str | None = None) -> list[str]:
    """The Voila command line, run in the project folder (``token``: required by every page)."""
    return [
        sys.executable, "-m", "voila", NOTEBOOK, "--no-browser", f"--template={TEMPLATE}",
        f"--port={port}", f"--Voila.ip={ip}", "--Voila.port_retries=0",
        "--preheat_kernel=True", "--pool_size=1",
        f"--MappingKernelManager.cull_idle_timeout={cull_idle}",
        f"--MappingKernelManager.cull_interval={min(CULL_INTERVAL_S, max(cull_idle, 1))}",
        *([f"--Voila.token={token}"] if token else []),
    ]  # fmt: skip


def voila_env() -> dict[str, str]:
    """This process's environment with mtc's Voila template on the Jupyter data path."""
    paths = [str(JUPYTER_DATA), *filter(None, os.environ.get("JUPYTER_PATH", "").split(os.pathsep))]
    return {**os.environ, "JUPYTER_PATH": os.pathsep.join(paths)}


class VoilaServer:
    """Voila serving ``project``'s configurator in a child process; leaving the ``with`` block stops it.

    Voila runs in a process group of its own, so it is stopped exactly once, by this object:
    SIGINT (it shuts its kernels down), or SIGTERM when SIGINT is ignored here (a background job
    of a script; its kernels then exit with it), and killed if it hangs. Inside the block SIGTERM
    acts as Ctrl-C. ``log`` sends Voila's output to a file instead of this terminal.
    """

    def __init__(
        self, project: Path, ip: str, port: int, cull_idle: int = CULL_IDLE_S, log: Path | None = None,
        token: str | None = None,
    ):  # fmt: skip
        check_project(project)
        check_port(ip, port)
        if cull_idle < 0:
            raise MtcError(f"--cull-idle must be >= 0 seconds (0 never culls), got {cull_idle}")
        self.project, self.log = project, log
        self.token = access_token(ip, token)
        host = socket.gethostname() if ip in ("0.0.0.0", "::") else ip
        self.url = f"http://{host}:{port}/" + (f"?token={self.token}" if self.token else "")
        self.command = voila_command(ip, port, cull_idle, self.token)
        self.process: subprocess.Popen | None = None
        self._previous_sigterm: Any = None

    def __enter__(self) -> VoilaServer:
        output = None
        if self.log is not None:
            self.log.parent.mkdir(parents=True, exist_ok=True)
            output = self.log.open("ab")
        with output or contextlib.nullcontext():
            self.process = subprocess.Popen(
                self.command, cwd=self.project, stdin=subprocess.DEVNULL, stdout=output, env=voila_env(),
                stderr=subprocess.STDOUT if output else None, start_new_session=True,
            )  # fmt: skip
        self._previous_sigterm = signal.signal(signal.SIGTERM, _sigterm_as_ctrl_c)
        return self

    def wait(self) -> int:
        """Block until Voila exits (Ctrl-C raises KeyboardInterrupt here); an exit with an error raises."""
        assert self.process is not None
        self.process.wait()
        self.check_running()
        return 0

    def check_running(self) -> None:
        """Raise, naming the exit code and Voila's last words, if Voila has stopped with an error."""
        assert self.process is not None
        code = self.process.poll()
        if not code:
            return
        said = ""
        if self.log is not None and self.log.is_file():
            lines = [line for line in self.log.read_text(errors="replace").splitlines() if line.strip()]
            said = f": {lines[-1].strip()}" if lines else ""
        where = f" (its output: {self.log})" if self.log is not None else " (its output is above)"
        raise MtcError(f"Voila stopped with exit code {code} while serving {self.url}{said}{where}")

    def __exit__(self, *exc_info: object) -> None:
        signal.signal(signal.SIGTERM, self._previous_sigterm)
        assert self.process is not None
        if self.process.poll() is None:
            ignored = signal.getsignal(signal.SIGINT) == signal.SIG_IGN  # then Voila ignores it too
            self.process.send_signal(signal.SIGTERM if ignored else signal.SIGINT)
        with contextlib.suppress(subprocess.TimeoutExpired):
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            finally:  # hung, or a second Ctrl-C: stop waiting
                if self.process.poll() is None:
                    self.process.kill()
                    self.process.wait()


def _sigterm_as_ctrl_c(signum: int, frame: FrameType | None) -> None:
    """SIGTERM acts as Ctrl-C: passed on to this command's process group when it leads one (its
    training workers checkpoint and stop), then raised here as KeyboardInterrupt."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the copy sent to this process by killpg
    if os.getpgrp() == os.getpid():
        os.killpg(os.getpid(), signal.SIGTERM)
    raise KeyboardInterrupt


def run_serve(args: argparse.Namespace) -> int:
    project = Path(args.project).resolve()
    with VoilaServer(project, args.ip, args.port, args.cull_idle, token=args.token) as server:
        print(f"serving {project / NOTEBOOK} at {server.url} (Ctrl-C stops)", flush=True)
        return server.wait()
