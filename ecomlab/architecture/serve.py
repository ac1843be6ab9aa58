"""Entry point of one service process: ``python -m ecomlab.architecture.serve CONFIG_JSON``.

The parent binds the listening socket (127.0.0.1, port 0: the OS picks the port) and passes
its file descriptor in the config (``fd``); this process serves it with uvicorn. A watchdog
thread exits the process when its parent dies, so no service outlives the experiment even if
the parent is killed with SIGKILL.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sys
import threading
import time
from typing import Any

__all__ = ["build_app", "main"]


def build_app(cfg: dict[str, Any]) -> Any:
    """The Starlette app a config describes (``service`` = ``monolith`` or a service name)."""
    from ecomlab.architecture.apps import monolith_app, service_app
    from ecomlab.architecture.resilience import Policy

    policy = Policy(**cfg.get("policy", {}))
    if cfg["service"] == "monolith":
        return monolith_app(cfg["db"], faults=cfg.get("faults"), seed=int(cfg.get("seed", 0)),
                            workers=int(cfg.get("workers", 8)), policy=policy,
                            tracing=bool(cfg.get("tracing", False)))
    return service_app(cfg["service"], cfg["db"], faults=cfg.get("faults"),
                       seed=int(cfg.get("seed", 0)), consistency=cfg.get("consistency", "saga"),
                       deps=cfg.get("deps"), policy=policy,
                       tracing=bool(cfg.get("tracing", False)))


def _watch_parent(parent: int) -> None:
    while True:
        if os.getppid() != parent:
            os._exit(3)
        time.sleep(0.2)


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    args = sys.argv[1:] if argv is None else argv
    cfg = json.loads(args[0])
    threading.Thread(target=_watch_parent, args=(int(cfg["parent"]),), daemon=True).start()
    sock = socket.socket(fileno=int(cfg["fd"]))
    app = build_app(cfg)
    config = uvicorn.Config(app, lifespan="off", log_level="warning", access_log=False,
                            timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    asyncio.run(server.serve(sockets=[sock]))
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
