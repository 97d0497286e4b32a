"""Kernels behind a Jupyter Kernel Gateway or Enterprise Gateway (``jupyter server --gateway-url=...``).

For such kernels the server hands out jupyter_server's ``GatewayKernelClient``, which falls short for us: it opens
its websocket to the gateway without the headers its HTTP requests carry (a gateway with an auth token answers
401), blocking the server's event loop while it connects; its channel queues wait by spinning the loop
(``sleep(0)``), holding a core for as long as code runs; and it sends messages without their channel, so the
gateway takes each one for a shell message. ``authenticated`` makes a gateway kernel's manager hand out a client
that does none of that.
"""

from __future__ import annotations

import asyncio
import functools
import queue
import sys
import threading
import time
from typing import Any

from .executor import KernelUnavailable

#: How long a channel queue sleeps between looks while it waits: short next to a kernel's round trip.
POLL = 0.005
CHANNELS = ("shell", "iopub", "stdin", "hb", "control")


def is_gateway_kernel(km: Any) -> bool:
    managers = sys.modules.get("jupyter_server.gateway.managers")  # not imported: no gateway kernel either
    return managers is not None and isinstance(km, managers.GatewayKernelManager)


def authenticated(km: Any) -> Any:
    """``km`` itself; if it is a gateway kernel's manager, its clients are ours from now on."""
    if is_gateway_kernel(km) and not issubclass(km.client_factory, _client_class()):
        km.client_factory = _client_class()
    return km


@functools.cache
def _client_class() -> type[Any]:
    """Built on first use, for a server that has gateway kernels."""
    import websocket
    from jupyter_client.client import KernelClient
    from jupyter_server.gateway.gateway_client import GatewayClient as ServerGatewayConfig
    from jupyter_server.gateway.managers import ChannelQueue, GatewayKernelClient
    from jupyter_server.utils import url_path_join
    from tornado.escape import url_escape

    class Channel(ChannelQueue):  # type: ignore[misc]
        """A channel fed by the client's reader thread; waiting sleeps instead of spinning the loop."""

        def send(self, msg: dict[str, Any]) -> None:
            # Name the channel: the gateway otherwise takes every message for a shell message.
            super().send({**msg, "channel": self.channel_name})

        def stop(self) -> None:
            # Unread replies are expected (the executor follows IOPub, not every shell reply): drop them quietly.
            while not self.empty():
                self.get_nowait()

        async def _async_get(self, timeout: float | None = None) -> Any:
            deadline = time.monotonic() + (timeout if timeout is not None else float("inf"))
            while True:
                try:
                    return self.get(block=False)
                except queue.Empty:
                    if self.response_router_finished:
                        raise KernelUnavailable("The connection to the kernel gateway was lost.") from None
                    if time.monotonic() >= deadline:
                        raise
                    await asyncio.sleep(POLL)

        def is_beating(self) -> bool:  # for the heartbeat channel: the gateway watches the kernel for us
            return bool(self.is_alive() and not self.response_router_finished)

    # Not named like a config section (GatewayClient): traitlets would offer it the server's gateway settings.
    class AuthenticatedGatewayKernelClient(GatewayKernelClient):  # type: ignore[misc]
        """``GatewayKernelClient`` that authenticates its websocket and waits politely."""

        async def start_channels(  # type: ignore[override]  # async, as in GatewayKernelClient
            self, shell: bool = True, iopub: bool = True, stdin: bool = True, hb: bool = True, control: bool = True
        ) -> None:
            config = ServerGatewayConfig.instance()
            url = url_path_join(config.ws_url or "", config.kernels_endpoint, url_escape(self.kernel_id), "channels")
            url += f"?session_id={url_escape(self.session.session)}"
            args = config.load_connection_args()  # type: ignore[no-untyped-call]  # the headers of its HTTP requests: token, cookies, extra headers
            headers = [f"{name}: {value}" for name, value in (args.get("headers") or {}).items()]
            ssl = {"ca_certs": config.ca_certs, "certfile": config.client_cert, "keyfile": config.client_key}
            try:
                self.channel_socket = await asyncio.to_thread(
                    websocket.create_connection,
                    url,
                    timeout=config.KERNEL_LAUNCH_TIMEOUT,
                    enable_multithread=True,
                    sslopt=ssl,
                    header=headers,
                )
            except websocket.WebSocketBadStatusException as exc:
                raise KernelUnavailable(
                    f"The kernel gateway refused the connection to the kernel (HTTP {exc.status_code}); "
                    "check GatewayClient.auth_token."
                ) from exc
            except (OSError, websocket.WebSocketException) as exc:
                raise KernelUnavailable(f"The kernel gateway cannot be reached: {exc}") from exc
            queues: dict[str, Any] = {}
            for name in CHANNELS:
                queues[name] = Channel(name, self.channel_socket, self.log)
                setattr(self, f"_{name}_channel", queues[name])
            self._channel_queues = queues
            KernelClient.start_channels(self, shell=shell, iopub=iopub, stdin=stdin, hb=hb, control=control)
            self.response_router = threading.Thread(target=self._route_responses, name="gateway-kernel", daemon=True)
            self.response_router.start()

        async def _async_is_alive(self) -> bool:
            # The default asks the manager for a local process, which a gateway kernel does not have.
            if self.parent is None:
                return True
            try:
                return bool(await self.parent.is_alive())
            except Exception:
                return False

    return AuthenticatedGatewayKernelClient
