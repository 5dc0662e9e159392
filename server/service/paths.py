"""Where one index's service lives (its lock, socket and log), known to the service and its clients
alike without importing the service itself."""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ragate.server.config import Settings

# A Unix socket path must fit in sockaddr_un (108 bytes on Linux).
_MAX_SOCKET_PATH = 100


@dataclass(frozen=True)
class ServicePaths:
    """Where one index's service lives: its lock (holding the owner's PID), socket and log."""

    index_dir: Path
    lock: Path
    socket: Path
    log: Path

    @classmethod
    def of(cls, settings: Settings) -> ServicePaths:
        index_dir = Path(settings.qdrant.path).resolve()
        sock = index_dir / "service.sock"
        if len(str(sock)) > _MAX_SOCKET_PATH:  # a deep index directory: a short per-user path instead
            run_dir = Path(tempfile.gettempdir()) / f"ragate-{os.getuid()}"
            run_dir.mkdir(mode=0o700, exist_ok=True)
            sock = run_dir / (hashlib.sha1(str(index_dir).encode()).hexdigest()[:16] + ".sock")
        return cls(index_dir=index_dir, lock=index_dir / "service.lock", socket=sock, log=index_dir / "service.log")
