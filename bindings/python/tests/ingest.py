"""referkit-ingest as a child process on 127.0.0.1 with a free port, for the binding tests.

REFERKIT_INGEST names the binary. Every wait is bounded: the first line within 15 s, a stop
within 15 s (then SIGKILL).
"""
import json
import os
import select
import signal
import sqlite3
import subprocess
import urllib.request


class IngestServer:
    def __init__(self, db_path: str, write_key: str = "wk"):
        self.db_path = db_path
        self.proc = subprocess.Popen(
            [os.environ["REFERKIT_INGEST"], "--db", db_path, "--write-key", write_key, "--listen", "127.0.0.1:0"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        ready, _, _ = select.select([self.proc.stdout], [], [], 15)
        line = self.proc.stdout.readline().decode() if ready else ""
        if not line.startswith("listening on "):
            self.proc.kill()
            self.proc.wait(5)
            raise RuntimeError(f"referkit-ingest did not start: {line!r}")
        self.url = line.split()[-1]

    def stats(self) -> dict:
        with urllib.request.urlopen(self.url + "/v1/stats", timeout=10) as reply:
            return json.load(reply)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc.stdout.close()

    def message_ids_by_event(self) -> dict:
        """{event name: [messageId, ...]} from the database (read after stop())."""
        out = {}
        with sqlite3.connect(self.db_path) as db:
            for event, message_id in db.execute("select event, message_id from events"):
                out.setdefault(event, []).append(message_id)
        return out
