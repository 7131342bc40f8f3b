"""Run a command while ``kubectl port-forward`` holds a local port, for the e2e smoke tests.

Usage: python port_forward.py NAMESPACE svc/NAME LOCAL:REMOTE -- COMMAND...

Waits until the local port accepts connections (at most 60 s), runs COMMAND, then stops the
port-forward; exits with COMMAND's code. Keeps the workflow free of background jobs that
outlive their step.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time


def main(argv: list[str]) -> int:
    """Hold the port-forward while the command runs; the command's exit code."""
    split = argv.index("--")
    namespace, target, ports = argv[:split]
    command = argv[split + 1 :]
    local = int(ports.split(":", 1)[0])
    # kubectl's chatter goes to stderr: stdout is the command's, which callers may capture.
    forward = subprocess.Popen(
        ["kubectl", "-n", namespace, "port-forward", target, ports], stdout=sys.stderr
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", local), timeout=1):
                    break
            except OSError:
                if forward.poll() is not None or time.monotonic() > deadline:
                    print(f"port-forward to {namespace}/{target} did not come up", file=sys.stderr)
                    return 1
                time.sleep(1)
        return subprocess.run(command, check=False).returncode
    finally:
        forward.terminate()
        forward.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
