"""Start a command in its own session and print its pid, then exit.

``launch.start_detached`` runs this as an intermediate process: the worker is re-parented
away from the caller (a notebook kernel or the CLI), so it never lingers there as a zombie
and outlives the caller. Usage: ``python -m engine.worker.detach LOGFILE COMMAND...``.
"""

from __future__ import annotations

import subprocess
import sys


def main(argv: list[str]) -> None:
    log_path, command = argv[0], argv[1:]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            close_fds=True,
        )  # fmt: skip
    print(process.pid, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
