"""The sandboxed kernel at run time: a kernel provisioner that gives it IPC sockets, and the launcher that starts
ipykernel under bubblewrap with no network, a read-only system, a private /tmp, a clean environment and rlimits.

Why IPC: the kernel gets a network namespace of its own (only ``lo``), so the server could not reach TCP ports it
listens on; Unix sockets in a folder bound into the sandbox cross that line. Why no pid namespace and no new
session: ipykernel exits in one, and interrupts are sent to the kernel's process group, which must hold it.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import signal
import sys
import tempfile
from typing import Any

from jupyter_client.provisioning.local_provisioner import LocalProvisioner

#: Set by whoever starts the kernel (a container's ``memory_limit``): a lower address-space cap in bytes than the
#: kernelspec's for this one kernel. Never raises the kernelspec's cap.
MEMORY_ENV = "CODEINTERP_MEMORY_LIMIT"
#: Set inside the sandbox: ``%%interpret`` says it cannot reach the model from here.
SANDBOX_ENV = "CODEINTERP_SANDBOX"
#: The environment the kernel keeps (everything else, keys and tokens included, is dropped).
KEPT_ENV = (
    "PATH",
    "JPY_PARENT_PID",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TERM",
    "PYTHONPATH",
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
)


class SandboxProvisioner(LocalProvisioner):  # type: ignore[misc]
    """A local kernel whose sockets are Unix sockets in a private folder of the runtime directory."""

    async def pre_launch(self, **kwargs: Any) -> dict[str, Any]:
        from jupyter_core.paths import jupyter_runtime_dir

        km = self.parent
        if km is not None:
            runtime = jupyter_runtime_dir()
            os.makedirs(runtime, exist_ok=True)
            folder = tempfile.mkdtemp(prefix="cisbx-", dir=runtime)
            km.transport = "ipc"
            km.ip = os.path.join(folder, "k")
            km.connection_file = os.path.join(folder, "kernel.json")
            self._sandbox_folder = folder
        return dict(await super().pre_launch(**kwargs))

    async def cleanup(self, restart: bool = False) -> None:
        await super().cleanup(restart=restart)
        folder = getattr(self, "_sandbox_folder", None)
        if folder and not restart:
            shutil.rmtree(folder, ignore_errors=True)


def bwrap_command(connection_file: str, cwd: str, *, kernel: list[str]) -> list[str]:
    """The bubblewrap command line that runs ``kernel`` with only ``cwd`` and the socket folder writable."""
    runtime = os.path.dirname(os.path.abspath(connection_file))
    command = [
        "bwrap",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--die-with-parent",
        "--ro-bind",
        "/",
        "/",
        "--dev",
        "/dev",
        "--proc",
        "/proc",
        "--tmpfs",
        "/tmp",
        "--bind",
        runtime,
        runtime,
        *_code_under_tmp(),
        "--bind",
        cwd,
        cwd,
        "--chdir",
        cwd,
        "--clearenv",
    ]
    for name in KEPT_ENV:
        if name in os.environ:
            command += ["--setenv", name, os.environ[name]]
    command += ["--setenv", "HOME", "/tmp", "--setenv", SANDBOX_ENV, "1", "--setenv", "MPLBACKEND", "agg"]
    return [*command, "--", *kernel]


def _code_under_tmp() -> list[str]:
    """Read-only binds for the Python import path that lives under /tmp (an editable install or a virtualenv made
    there), which the sandbox's private /tmp would otherwise hide: the kernel must still import what it imports."""
    binds: list[str] = []
    for entry in dict.fromkeys([sys.prefix, *sys.path]):
        path = os.path.realpath(entry) if entry else ""
        if path.startswith("/tmp/") and os.path.isdir(path):
            binds += ["--ro-bind", path, path]
    return binds


def set_limits(memory: int, cpu_seconds: int) -> None:
    """Caps that the sandbox inherits: address space (MemoryError past it) and CPU time (SIGXCPU past it)."""
    if memory > 0:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    if cpu_seconds > 0:
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))


def memory_cap(spec_bytes: int, asked: str) -> int:
    """The kernel's address-space cap: the kernelspec's, or the lower one asked for this kernel (0: none)."""
    try:
        wanted = int(asked)
    except ValueError:
        return spec_bytes
    if wanted <= 0:
        return spec_bytes
    return wanted if spec_bytes <= 0 else min(wanted, spec_bytes)


def main(argv: list[str] | None = None) -> None:
    """The kernelspec's command: ``python -m jupyter_codeinterp.sandbox_kernel --memory B --cpu-seconds S -f F``."""
    parser = argparse.ArgumentParser(prog="jupyter_codeinterp.sandbox_kernel")
    parser.add_argument("-f", dest="connection_file", required=True)
    parser.add_argument("--memory", type=int, default=0)
    parser.add_argument("--cpu-seconds", type=int, default=0)
    args = parser.parse_args(argv)
    if shutil.which("bwrap") is None:
        sys.exit("codeinterp sandbox: bubblewrap (bwrap) is missing: apt-get install bubblewrap")
    kernel = [sys.executable, "-m", "ipykernel_launcher", "-f", args.connection_file]
    command = bwrap_command(args.connection_file, os.getcwd(), kernel=kernel)
    set_limits(memory_cap(args.memory, os.environ.get(MEMORY_ENV, "")), args.cpu_seconds)
    # Interrupts go to the whole process group: bwrap must outlive them (its child, the kernel, handles them; an
    # ignored signal stays ignored across exec, and ipykernel installs its own handler while it executes).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
