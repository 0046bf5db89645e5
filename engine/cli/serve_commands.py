"""``mtc serve``: the project's configurator.ipynb as a dashboard, served by Voila.

Voila runs as a child process of this Python (``python -m voila``); nothing here imports it.
It keeps one kernel preheated: the configurator does its slow imports before a page is asked
for and builds the app (from the database as it is then) when one is. Kernels of pages that
were closed are culled once idle; the configurator stops polling when no stage trains, so an
abandoned page does not keep its kernel busy.
"""

from __future__ import annotations

import argparse
import signal
import socket
import subprocess
import sys
from pathlib import Path

from ..errors import MtcError

NOTEBOOK = "configurator.ipynb"
REQUIRED = (NOTEBOOK, "problem.py")
DEFAULT_PORT = 8866
CULL_IDLE_S = 600
CULL_INTERVAL_S = 60


def register(commands: argparse._SubParsersAction) -> None:
    serve = commands.add_parser("serve", help="serve configurator.ipynb as a dashboard (Voila) at http://IP:PORT/")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port to listen on (default {DEFAULT_PORT})")
    serve.add_argument("--ip", default="127.0.0.1", help="address to listen on (default 127.0.0.1; 0.0.0.0 for all)")
    serve.add_argument(
        "--cull-idle", type=int, default=CULL_IDLE_S, metavar="S",
        help=f"shut down the kernel of a closed page after S idle seconds (default {CULL_IDLE_S})",
    )  # fmt: skip
    serve.set_defaults(handler=run_serve)


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


def voila_command(ip: str, port: int, cull_idle: int) -> list[str]:
    """The Voila command line, run in the project folder."""
    return [
        sys.executable, "-m", "voila", NOTEBOOK, "--no-browser",
        f"--port={port}", f"--Voila.ip={ip}", "--Voila.port_retries=0",
        "--preheat_kernel=True", "--pool_size=1",
        f"--MappingKernelManager.cull_idle_timeout={cull_idle}",
        f"--MappingKernelManager.cull_interval={min(CULL_INTERVAL_S, max(cull_idle, 1))}",
    ]  # fmt: skip


def run_serve(args: argparse.Namespace) -> int:
    project = Path(args.project).resolve()
    check_project(project)
    check_port(args.ip, args.port)
    if args.cull_idle < 0:
        raise MtcError(f"--cull-idle must be >= 0 seconds (0 never culls), got {args.cull_idle}")
    print(f"serving {project / NOTEBOOK} at http://{args.ip}:{args.port}/ (Ctrl-C stops)", flush=True)
    process = subprocess.Popen(voila_command(args.ip, args.port, args.cull_idle), cwd=project)
    signal.signal(signal.SIGTERM, lambda *_: process.terminate())
    try:
        return process.wait()
    except KeyboardInterrupt:  # Ctrl-C reached Voila too: let it shut its kernels down
        process.wait()
        return 130
