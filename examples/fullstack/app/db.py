"""The database connection every process of the app uses, configured from the environment."""

import os
import signal
import sys

import psycopg2


def connect():  # -> psycopg2 connection
    return psycopg2.connect(
        host=os.environ.get("DB_HOST", "db"),
        dbname=os.environ.get("POSTGRES_DB", "app"),
        user="postgres",
        password=os.environ["POSTGRES_PASSWORD"],
        connect_timeout=5,
    )


def exit_on_sigterm() -> None:
    # As PID 1 the default action for SIGTERM is to ignore it; exit promptly so `hoist stop` needs no kill.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
