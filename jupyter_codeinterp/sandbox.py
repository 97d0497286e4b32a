"""``jupyter codeinterp install-sandbox-kernel``: install the kernelspec "Python 3 (sandboxed)".

Its kernels run ipykernel under bubblewrap (see ``sandbox_kernel.py``): no network, a read-only system, read-write
only the notebook's folder and a private /tmp, a clean environment (no ``OPENAI_API_KEY``, no server tokens), a
memory cap (default 2 GB) and an optional CPU-time cap. The install first starts a real sandbox: if bubblewrap is
missing or user namespaces are off, it says so and how to fix it, and installs nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

DEFAULT_NAME = "python3-sandbox"
DISPLAY_NAME = "Python 3 (sandboxed)"
DEFAULT_MEMORY = "2G"
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)B?\s*$", re.I)
_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def add_parser(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Register the subcommand on the CLI's parser."""
    cmd = commands.add_parser(
        "install-sandbox-kernel",
        help='install the kernelspec "Python 3 (sandboxed)": no network, read-only system, memory cap (bubblewrap)',
    )
    where = cmd.add_mutually_exclusive_group()
    where.add_argument("--user", action="store_true", help="install for this user (the default)")
    where.add_argument("--sys-prefix", action="store_true", help="install into this Python's prefix (a venv, conda)")
    where.add_argument("--prefix", help="install into this prefix")
    cmd.add_argument("--name", default=DEFAULT_NAME, help=f"kernelspec name (default {DEFAULT_NAME}; keeps 'sandbox')")
    cmd.add_argument("--display-name", default=DISPLAY_NAME, help=f"name shown in Jupyter (default {DISPLAY_NAME!r})")
    cmd.add_argument("--memory", default=DEFAULT_MEMORY, help="address-space cap, e.g. 2G, 512M; 0 for none")
    cmd.add_argument("--cpu-seconds", type=int, default=0, help="CPU-time cap of the kernel process; 0 for none")


def parse_size(text: str) -> int:
    """``2G``, ``512M``, ``1.5G``, ``0`` -> bytes."""
    match = _SIZE.match(text)
    if not match:
        raise ValueError(f"not a size: {text!r} (use e.g. 2G, 512M or 0)")
    return int(float(match.group(1)) * _UNITS[match.group(2).upper()])


def problem() -> str | None:
    """Why a sandbox cannot start here (and how to fix it), or None when a real one just ran."""
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return (
            "bubblewrap is not installed (no `bwrap` on PATH). Install it: `sudo apt-get install bubblewrap` "
            "(Debian/Ubuntu), `sudo dnf install bubblewrap` (Fedora), then run this command again."
        )
    probe = [bwrap, "--unshare-net", "--die-with-parent", "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    try:
        done = subprocess.run([*probe, "true"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bubblewrap could not start a sandbox: {exc}"
    if done.returncode != 0:
        return (
            f"bubblewrap could not start a sandbox: {done.stderr.strip() or f'exit {done.returncode}'}. "
            "Unprivileged user namespaces are probably off: enable them with "
            "`sudo sysctl kernel.unprivileged_userns_clone=1` (Debian) or, on Ubuntu 24.04+, "
            "`sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0` (or an AppArmor profile for bwrap); "
            "in a container, run it with user namespaces allowed."
        )
    return None


def kernelspec(memory: int, cpu_seconds: int, display_name: str) -> dict[str, object]:
    return {
        "argv": [
            sys.executable,
            "-m",
            "jupyter_codeinterp.sandbox_kernel",
            "--memory",
            str(memory),
            "--cpu-seconds",
            str(cpu_seconds),
            "-f",
            "{connection_file}",
        ],
        "display_name": display_name,
        "language": "python",
        "interrupt_mode": "signal",
        "metadata": {
            "kernel_provisioner": {"provisioner_name": "codeinterp-sandbox"},
            "codeinterp": {"sandbox": True, "memory_bytes": memory, "cpu_seconds": cpu_seconds, "network": False},
        },
    }


def install(args: argparse.Namespace) -> int:
    from jupyter_client.kernelspec import KernelSpecManager

    if "sandbox" not in args.name:
        print("codeinterp: the kernelspec's name must contain 'sandbox'", file=sys.stderr)
        return 2
    try:
        memory = parse_size(args.memory)
    except ValueError as exc:
        print(f"codeinterp: --memory: {exc}", file=sys.stderr)
        return 2
    if args.cpu_seconds < 0:
        print("codeinterp: --cpu-seconds must be 0 (none) or positive", file=sys.stderr)
        return 2
    why = problem()
    if why:
        print(f"codeinterp: cannot install the sandboxed kernel: {why}\nNothing was installed.", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as folder:
        with open(os.path.join(folder, "kernel.json"), "w") as f:
            json.dump(kernelspec(memory, args.cpu_seconds, args.display_name), f, indent=1)
        prefix = sys.prefix if args.sys_prefix else args.prefix
        where = KernelSpecManager().install_kernel_spec(
            folder, args.name, user=prefix is None, prefix=prefix, replace=True
        )
    cap = f"{memory / (1 << 30):.3g} GB" if memory else "none"
    cpu = f"{args.cpu_seconds} s" if args.cpu_seconds else "none"
    print(f"Installed {args.display_name!r} ({args.name}) in {where}: no network, memory cap {cap}, CPU cap {cpu}.")
    return 0
