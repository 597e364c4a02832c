"""The JSON API behind the proxy: list and add notes. Standard library HTTP server + psycopg2."""

import json
import os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from db import connect, exit_on_sigterm

API_MESSAGE = os.environ.get("API_MESSAGE", "hello from the api")


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/api/health":
            with connect() as conn, conn.cursor() as cur:
                cur.execute("SELECT count(*) FROM notes")  # healthy = database reachable and migrated
            self.reply(200, {"status": "ok"})
        elif self.path == "/api/notes":
            with connect() as conn, conn.cursor() as cur:
                cur.execute("SELECT id, body, status, words FROM notes ORDER BY id")
                notes = [dict(zip(("id", "body", "status", "words"), row, strict=True)) for row in cur.fetchall()]
            self.reply(200, {"message": API_MESSAGE, "notes": notes})
        else:
            self.reply(404, {"error": "not found"})

    def do_POST(self) -> None:
        if self.path != "/api/notes":
            self.reply(404, {"error": "not found"})
            return
        body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
        with connect() as conn, conn.cursor() as cur:
            cur.execute("INSERT INTO notes (body) VALUES (%s) RETURNING id", (body,))
            (note_id,) = cur.fetchone()
        self.reply(201, {"id": note_id, "status": "pending"})

    def reply(self, status: int, payload: dict) -> None:
        data = (json.dumps(payload) + "\n").encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        if "/api/health" not in self.requestline:
            print(f"api: {format % args}", flush=True)


if __name__ == "__main__":
    exit_on_sigterm()
    print("api: listening on :8000", flush=True)
    ThreadingHTTPServer(("0.0.0.0", 8000), Handler).serve_forever()
