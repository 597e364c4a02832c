"""Background worker: picks up pending notes and records their word count."""

import os
import time

from db import connect, exit_on_sigterm

POLL_SECONDS = float(os.environ.get("WORKER_POLL_SECONDS", "0.5"))

PROCESS_PENDING = """
UPDATE notes
   SET status = 'processed',
       words = coalesce(array_length(regexp_split_to_array(trim(body), '\\s+'), 1), 0)
 WHERE status = 'pending'
RETURNING id, words
"""

if __name__ == "__main__":
    exit_on_sigterm()
    conn = connect()
    conn.autocommit = True
    print("worker: waiting for notes", flush=True)
    while True:
        with conn.cursor() as cur:
            cur.execute(PROCESS_PENDING)
            for note_id, words in cur.fetchall():
                print(f"worker: processed note {note_id} ({words} words)", flush=True)
        time.sleep(POLL_SECONDS)
