"""The runnable examples under examples/, end to end: each comes up with `up --wait` and serves through its
published port; the database keeps its data across `down` + `up` and loses it with `down -v`; a code change
is rebuilt; a watch cycle exercises every develop.watch action; nothing is left behind (hoist_root checks).

Building the examples runs apt-get inside containers (a minute or more), so the images are built once per
machine into a cached state root keyed by the examples' files, and each test gets them hardlinked into its
own root along with the build cache (so a rebuild after a code change re-runs only the steps that changed).
Each test works on a copy of its example, so edits never touch the repository.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests.support.cli import PROJECT_DIR, Hoist, wait_for
from tests.support.image_store import link_into
from tests.support.images import CACHE_ROOT
from tests.support.watch_project import WatchProcess, free_port, get

EXAMPLES = PROJECT_DIR / "examples"
BUILT_EXAMPLES = ("quickstart", "fullstack", "watch-demo")
STORE_FORMAT = "examples-store-v1"
SKIPPED_PARTS = {"__pycache__", "backups"}


def _example_files(name: str) -> list[Path]:
    """The files that shape the example's images and behaviour (not its README)."""
    root = EXAMPLES / name
    return sorted(p for p in root.rglob("*")
                  if p.is_file() and p.suffix != ".md"
                  and not SKIPPED_PARTS.intersection(p.relative_to(root).parts))


def _store_key() -> str:
    """Changes with any file of the built examples, so an edited example is built afresh."""
    h = hashlib.sha256(STORE_FORMAT.encode())
    for name in BUILT_EXAMPLES:
        for path in _example_files(name):
            h.update(str(path.relative_to(EXAMPLES)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def _hoist_env(root: Path) -> dict[str, str]:
    env = {**os.environ, "HOIST_ROOT": str(root), "PYTHONPATH": str(PROJECT_DIR), "HOIST_LAUNCHER_IDLE": "0.2"}
    env.pop("COMPOSE_PROJECT_NAME", None)
    return env


def _build_store(root: Path) -> None:
    hoist = [sys.executable, "-m", "compose.cli.main", "--progress", "plain"]
    steps = [(hoist + ["image", "base", "debian"], PROJECT_DIR)]
    steps += [(hoist + ["build"], EXAMPLES / name) for name in BUILT_EXAMPLES]
    for argv, cwd in steps:
        proc = subprocess.run(argv, cwd=cwd, env=_hoist_env(root), capture_output=True, text=True, timeout=900)
        if proc.returncode != 0:
            raise AssertionError(f"{' '.join(argv[3:])} in {cwd} exited {proc.returncode}:\n"
                                 f"{proc.stderr[-4000:]}\n{proc.stdout[-2000:]}")


def _remove_stale_stores(keep: Path) -> None:
    """Stores of earlier versions of the examples are dead weight (each holds a few hundred MB of layers)."""
    for stale in CACHE_ROOT.glob("examples-*"):
        if stale != keep:
            shutil.rmtree(stale, ignore_errors=True)


@pytest.fixture(scope="session")
def examples_store() -> Path:
    """A state root holding the built images of every example; built by one process at a time, once per
    machine and version of the examples."""
    final = CACHE_ROOT / f"examples-{_store_key()}"
    done = final / "root" / "images" / "images.json"
    if done.is_file():
        return final / "root"
    CACHE_ROOT.mkdir(parents=True, exist_ok=True)
    lock_fd = os.open(CACHE_ROOT / f".{final.name}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX)
        if not done.is_file():
            build = Path(tempfile.mkdtemp(prefix=".examples-build-", dir=CACHE_ROOT))
            (build / "root").mkdir()
            try:
                _build_store(build / "root")
                # Only the image store and the build cache are shared; state of the build's own
                # containers and networks stays behind.
                for name in ("build-tmp", "containers", "volumes", "locks"):
                    shutil.rmtree(build / "root" / name, ignore_errors=True)
                os.rename(build, final)
                _remove_stale_stores(keep=final)
            except BaseException:
                shutil.rmtree(build, ignore_errors=True)
                raise
    finally:
        os.close(lock_fd)
    return final / "root"


@pytest.fixture
def examples_root(hoist_root: Path, examples_store: Path) -> Path:
    """The test's root with the examples' images and their build cache (cache entries are immutable files,
    so hardlinks are safe to share)."""
    link_into(examples_store, hoist_root)
    steps = examples_store / "build-cache" / "steps"
    target = hoist_root / "build-cache" / "steps"
    target.mkdir(parents=True, exist_ok=True)
    for entry in steps.iterdir():
        os.link(entry, target / entry.name)
    return hoist_root


def copy_example(name: str, tmp_path: Path) -> Path:
    workdir = tmp_path / name
    shutil.copytree(EXAMPLES / name, workdir, ignore=shutil.ignore_patterns(*SKIPPED_PARTS))
    return workdir


def project_volumes(h: Hoist) -> list[str]:
    out = h("volume", "ls", "-q").out.split()
    return [v for v in out if v.startswith(f"{h.project}_")]


def http(port: int, path: str, body: str | None = None) -> tuple[int, str]:
    """A GET (or a POST with ``body``) to the published port; (0, "") when nothing answers."""
    import http.client

    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET" if body is None else "POST", path, body=body)
        resp = conn.getresponse()
        text = resp.read().decode()
        conn.close()
        return resp.status, text
    except OSError:
        return 0, ""


def test_quickstart_serves_visits_and_rebuilds_after_a_code_change(
        examples_root: Path, project_name: str, tmp_path: Path) -> None:
    workdir = copy_example("quickstart", tmp_path)
    port = free_port()
    h = Hoist(examples_root, workdir, project_name)
    h.env["WEB_PORT"] = str(port)
    try:
        r = h("up", "-d", "--wait", timeout=240)
        assert "Built" not in r.err  # the images came from the shared store: up builds only what is missing
        assert http(port, "/") == (200, "Hello from hoist! This page has been viewed 1 times.\n")
        assert http(port, "/")[1].endswith("viewed 2 times.\n")
        containers = {c["Service"]: c for c in h.ps()}
        assert "healthy" in containers["web"]["Status"] and "healthy" in containers["redis"]["Status"]
        assert {"URL": "0.0.0.0", "TargetPort": 8000, "PublishedPort": port, "Protocol": "tcp"} in \
            containers["web"]["Publishers"]

        app = workdir / "app.py"
        app.write_text(app.read_text().replace('"Hello from hoist!"', '"Hello again from hoist!"'))
        r = h("up", "-d", "--build", "--wait", timeout=240)
        assert f"Container {project_name}-web-1 Recreated" in r.err
        assert {c["Service"]: c["ID"] for c in h.ps()}["redis"] == containers["redis"]["ID"]  # untouched
        # The new code is served, and the count lives on in Redis.
        assert http(port, "/") == (200, "Hello again from hoist! This page has been viewed 3 times.\n")

        h("down", "-v")
        assert h.ps() == [] and project_volumes(h) == []
        assert http(port, "/")[0] == 0  # the published port is released
    finally:
        h("down", "-v", "-t", "1", check=False)


def test_fullstack_proxy_api_worker_and_database_persistence(
        examples_root: Path, project_name: str, tmp_path: Path) -> None:
    workdir = copy_example("fullstack", tmp_path)
    port = free_port()
    h = Hoist(examples_root, workdir, project_name)
    h.env["PROXY_PORT"] = str(port)  # the environment wins over .env, as in docker compose

    def notes() -> list[dict[str, object]]:
        status, text = http(port, "/api/notes")
        assert status == 200, text
        payload = json.loads(text)
        assert payload["message"] == "hello from the api"  # API_MESSAGE from .env
        return payload["notes"]

    try:
        h("up", "-d", "--wait", timeout=240)
        states = {c["Service"]: c for c in h.ps()}
        # Optional tools stay off without their profile; the migration ran once and exited 0.
        assert set(states) == {"db", "migrate", "api", "worker", "proxy"}
        assert states["migrate"]["State"] == "exited" and states["migrate"]["ExitCode"] == 0
        status, page = http(port, "/")
        assert status == 200 and "<h1>hoist fullstack example</h1>" in page

        assert notes() == []
        status, created = http(port, "/api/notes", body="three little words")
        assert status == 201, created
        # The worker picks the note up in the background.
        wait_for(lambda: notes() == [{"id": 1, "body": "three little words", "status": "processed",
                                      "words": 3}], timeout=30, what="the worker to process the note")

        # An optional tool from the "tools" profile: a one-off backup into a bind-mounted directory.
        # (docker compose also runs a profiled service named on the command line without --profile;
        # hoist does not yet.)
        h("--profile", "tools", "run", "--rm", "backup", timeout=120)
        assert "three little words" in (workdir / "backups" / "app.sql").read_text()
        query = h("--profile", "tools", "run", "--rm", "-T", "psql", "-At", "-c", "select words from notes",
                  timeout=120)
        assert query.out.strip() == "3"

        # down keeps the named volume: the data is still there after up.
        h("down")
        assert h.ps() == [] and project_volumes(h) == [f"{project_name}_db-data"]
        h("up", "-d", "--wait", timeout=240)
        assert [n["body"] for n in notes()] == ["three little words"]

        # down -v removes it: a fresh database, migrated again.
        h("down", "-v")
        assert project_volumes(h) == []
        h("up", "-d", "--wait", timeout=240)
        assert notes() == []
        h("down", "-v")
        assert h.ps() == [] and project_volumes(h) == []
    finally:
        h("down", "-v", "-t", "1", check=False)


def test_watch_demo_every_action(examples_root: Path, project_name: str, tmp_path: Path) -> None:
    workdir = copy_example("watch-demo", tmp_path)
    port = free_port()
    h = Hoist(examples_root, workdir, project_name)
    h.env["WEB_PORT"] = str(port)

    def info() -> dict[str, object]:
        status, text = get(port, "/api/info")
        return json.loads(text) if status == 200 else {}

    h("up", "-d", "--wait", timeout=240)
    w = WatchProcess(h.popen("watch", "--no-up"))
    try:
        w.wait_line("Watch enabled", timeout=60)
        assert info()["code_revision"] == 1

        # sync: a static file is copied in and served as is, no restart.
        started = info()["uptime_seconds"]
        index = workdir / "static" / "index.html"
        index.write_text(index.read_text().replace("<h1>hoist watch demo</h1>", "<h1>edited live</h1>"))
        wait_for(lambda: "<h1>edited live</h1>" in get(port, "/")[1], what="the synced page")
        assert "watch[1] sync" in w.wait_line("static/index.html")
        assert info()["uptime_seconds"] >= started  # same process

        # sync+restart: new code runs after the restart.
        server = workdir / "app" / "server.py"
        server.write_text(server.read_text().replace("CODE_REVISION = 1", "CODE_REVISION = 2"))
        wait_for(lambda: info().get("code_revision") == 2, timeout=30, what="revision 2 served")
        assert "sync+restart" in w.wait_line("app/server.py")

        # sync+exec: the new message is copied in and the index regenerated inside the container.
        (workdir / "messages" / "002-news.txt").write_text("Synced and indexed.\n")
        wait_for(lambda: "Synced and indexed." in get(port, "/messages.json")[1], what="the message index")
        assert "ran `python3 /app/build_index.py`" in w.wait_line("messages/002-news.txt")

        # restart: the bind-mounted configuration is read again at start-up.
        (workdir / "config" / "greeting.txt").write_text("Bonjour\n")
        wait_for(lambda: info().get("greeting") == "Bonjour", timeout=30, what="the new greeting")
        assert "watch[3] restart" in w.wait_line("config/greeting.txt")

        # rebuild: VERSION is baked into the image; the synced code survives because it is rebuilt too.
        (workdir / "VERSION").write_text("2.0.0\n")
        wait_for(lambda: info().get("version") == "2.0.0", timeout=180, what="the rebuilt image served")
        assert "rebuild" in w.wait_line("VERSION", timeout=30)
        assert info()["code_revision"] == 2 and info()["greeting"] == "Bonjour"

        assert w.interrupt() in (0, 130)
    finally:
        w.kill()
        h("down", "-v", "-t", "1", check=False)
    assert h.ps() == []
