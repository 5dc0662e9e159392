"""Where one index's service lives (its lock, socket and log), known to the service and its clients
alike without importing the service itself."""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ragate.retrieval.errors import StoreError
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
            run_dir = private_dir(Path(tempfile.gettempdir()) / f"ragate-{os.getuid()}")
            sock = run_dir / (hashlib.sha1(str(index_dir).encode()).hexdigest()[:16] + ".sock")
        return cls(index_dir=index_dir, lock=index_dir / "service.lock", socket=sock, log=index_dir / "service.log")


def private_dir(path: Path) -> Path:
    """`path` as a folder only this user can enter, created so if missing. A folder someone else
    made first (in a shared /tmp, say), a link, or one others can read is refused: a socket planted
    there would receive every query and document."""
    try:
        path.mkdir(mode=0o700)
    except FileExistsError:
        pass
    st = os.lstat(path)
    problem = None
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        problem = "is not a folder (a link or a file)"
    elif st.st_uid != os.getuid():
        problem = f"belongs to uid {st.st_uid}, not to this user ({os.getuid()})"
    elif st.st_mode & 0o077:
        problem = f"is open to other users (mode {stat.S_IMODE(st.st_mode):o}, needs 700)"
    if problem:
        raise StoreError(
            f"the index service's socket folder {path} {problem}; remove it, or use a shorter [qdrant] path "
            "so the socket lives in the index folder"
        )
    return path
