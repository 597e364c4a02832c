"""One-shot migration job: creates the schema, then exits 0 so dependents may start
(depends_on: condition: service_completed_successfully)."""

from db import connect

SCHEMA = """
CREATE TABLE IF NOT EXISTS notes (
    id      serial PRIMARY KEY,
    body    text NOT NULL,
    status  text NOT NULL DEFAULT 'pending',
    words   integer
);
"""

if __name__ == "__main__":
    with connect() as conn, conn.cursor() as cur:
        cur.execute(SCHEMA)
    print("migrate: schema is up to date", flush=True)
