"""Collect /app/messages/*.txt into /app/static/messages.json (run at start-up and by the sync+exec rule)."""

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent


def build_index() -> int:
    messages = {p.name: p.read_text().strip() for p in sorted((HERE / "messages").glob("*.txt"))}
    (HERE / "static").mkdir(exist_ok=True)
    (HERE / "static" / "messages.json").write_text(json.dumps(messages, indent=2) + "\n")
    return len(messages)


if __name__ == "__main__":
    print(f"build_index: {build_index()} messages indexed", flush=True)
