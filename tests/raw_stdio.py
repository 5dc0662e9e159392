"""A bare JSON-RPC client on `ragate serve`'s stdin/stdout: raw bytes in, replies matched by id, so
tests can send what no SDK client would."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import threading
import time

from ragate.server.client import SERVE


class RawStdio:
    def __init__(self, env: dict[str, str], errlog_path: str):
        self._errlog = open(errlog_path, "w")
        self.proc = subprocess.Popen(SERVE, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._errlog, env={**os.environ, **env})
        self.replies: dict[object, dict] = {}
        self.anonymous: list[dict] = []
        self._cv = threading.Condition()
        self._ids = itertools.count(1000)
        threading.Thread(target=self._read, daemon=True).start()
        self.request("initialize", {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}})
        self.send(json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}).encode())

    def _read(self) -> None:
        for line in self.proc.stdout:
            msg = json.loads(line)
            with self._cv:
                if msg.get("id") is None:
                    self.anonymous.append(msg)
                else:
                    self.replies[msg["id"]] = msg
                self._cv.notify_all()

    def send(self, raw: bytes) -> None:
        self.proc.stdin.write(raw + b"\n")
        self.proc.stdin.flush()

    def start(self, method: str, params: dict) -> int:
        rid = next(self._ids)
        self.send(json.dumps({"jsonrpc": "2.0", "id": rid, "method": method, "params": params}).encode())
        return rid

    def wait(self, rid: object, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        with self._cv:
            while rid not in self.replies:
                left = deadline - time.monotonic()
                if left <= 0 or not self._cv.wait(left):
                    raise TimeoutError(f"no reply to {rid!r} within {timeout}s")
            return self.replies.pop(rid)

    def wait_anonymous(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        with self._cv:
            while not self.anonymous:
                left = deadline - time.monotonic()
                if left <= 0 or not self._cv.wait(left):
                    raise TimeoutError(f"no id-less reply within {timeout}s")
            return self.anonymous.pop(0)

    def request(self, method: str, params: dict, timeout: float = 300) -> dict:
        return self.wait(self.start(method, params), timeout)

    def start_tool(self, name: str, args: dict) -> int:
        return self.start("tools/call", {"name": name, "arguments": args})

    def close(self) -> None:
        self.proc.stdin.close()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self._errlog.close()
