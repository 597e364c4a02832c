"""``container_commit`` and ``container_export`` on the real runtime: a container that wrote a file and
deleted one of its image's becomes an image with the same filesystem (and without the runtime's own
/etc/hosts, /etc/hostname, /etc/resolv.conf mount points); its tar has no whiteouts; nothing leaks."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

from runtime.api import ContainerSpec, Mount
from runtime.engine import Engine
from tests.integration.runtime.conftest import output

SCRIPT = "echo committed > /new.txt && mkdir -p /opt/d && echo x > /opt/d/f && rm /bin/vi && echo ok"


def _run_to_end(engine: Engine, spec: ContainerSpec) -> str:
    state = engine.container_create(spec)
    engine.container_start(state.id)
    assert engine.container_wait(state.id, timeout=60) == 0, output(engine, state.id)
    return state.id


def test_commit_keeps_changes_and_applies_config(engine: Engine, busybox_image: str, unique_id: str,
                                                 tmp_path: Path) -> None:
    cid = _run_to_end(engine, ContainerSpec(
        name=f"src{unique_id}", image=busybox_image, command=["sh", "-c", SCRIPT], network_mode="none",
        env={"FROM_SPEC": "yes"}, labels={"made": "here"}, working_dir="/opt",
        mounts=[Mount(type="tmpfs", target="/scratch")]))
    repo = f"committed{unique_id}:v1"
    image_id = engine.container_commit(cid, repository=repo, changes=['CMD ["cat", "/new.txt"]', "ENV B=2"],
                                       message="a message", author="me <me@example.com>")
    assert image_id.startswith("sha256:")
    info = engine.image_inspect(repo)
    assert info.id == image_id
    assert len(info.layers) == len(engine.image_inspect(busybox_image).layers) + 1
    assert info.config.cmd == ["cat", "/new.txt"]  # --change CMD wins over the container's command
    assert "FROM_SPEC=yes" in info.config.env and "B=2" in info.config.env
    assert info.config.labels.get("made") == "here" and info.config.working_dir == "/opt"
    doc = engine.images.image_config_json(image_id)
    assert doc["author"] == "me <me@example.com>"
    assert doc["history"][-1]["comment"] == "a message" and doc["history"][-1]["author"] == "me <me@example.com>"

    # The new layer has the new file and a whiteout for the deleted one, nothing of the runtime's own.
    layer_blob = engine.images.manifest_json(image_id)["layers"][-1]["digest"]
    with engine.images.blobs.open(layer_blob) as f, tarfile.open(fileobj=f, mode="r|") as tar:
        names = {m.name for m in tar}
    assert "new.txt" in names and "opt/d/f" in names and "bin/.wh.vi" in names
    assert not names & {"etc/hosts", "etc/hostname", "etc/resolv.conf", "scratch", "proc", "sys", "dev"}, names

    state = engine.container_create(ContainerSpec(name=f"dst{unique_id}", image=repo, network_mode="none"))
    engine.container_start(state.id)
    assert engine.container_wait(state.id, timeout=60) == 0
    assert output(engine, state.id) == "committed\n"
    check = _run_to_end(engine, ContainerSpec(
        name=f"chk{unique_id}", image=repo, network_mode="none",
        command=["sh", "-c", "test ! -e /bin/vi && cat /opt/d/f && echo $FROM_SPEC"]))
    assert output(engine, check) == "x\nyes\n"


def test_commit_of_a_running_container_pauses_and_resumes_it(engine: Engine, busybox_image: str,
                                                               unique_id: str) -> None:
    state = engine.container_create(ContainerSpec(
        name=f"run{unique_id}", image=busybox_image, network_mode="none", init=True,
        command=["sh", "-c", "echo live > /live.txt && exec sleep 1000"]))
    engine.container_start(state.id)
    from tests.integration.runtime.conftest import wait_for

    upper = engine.container_dir(state.id) / "upper"
    wait_for(lambda: (upper / "live.txt").exists(), what="the file to be written")
    image_id = engine.container_commit(state.id)  # untagged
    assert engine.container_inspect(state.id).status == "running"
    assert engine.image_inspect(image_id).tags == []
    # The runtime's /etc files stay in the live container's upper dir (only left out of the layer).
    layer_blob = engine.images.manifest_json(image_id)["layers"][-1]["digest"]
    with engine.images.blobs.open(layer_blob) as f, tarfile.open(fileobj=f, mode="r|") as tar:
        names = {m.name for m in tar}
    assert "live.txt" in names and "etc/hosts" not in names
    assert (upper / "etc" / "hosts").exists()
    engine.container_pause(state.id)
    engine.container_commit(state.id, pause=True)  # already paused: stays paused
    assert engine.container_inspect(state.id).status == "paused"
    engine.container_unpause(state.id)


def test_export_is_the_merged_filesystem_without_whiteouts(engine: Engine, busybox_image: str,
                                                           unique_id: str) -> None:
    cid = _run_to_end(engine, ContainerSpec(
        name=f"exp{unique_id}", image=busybox_image, command=["sh", "-c", SCRIPT], network_mode="none"))
    buf = io.BytesIO()
    engine.container_export(cid, buf)
    buf.seek(0)
    with tarfile.open(fileobj=buf, mode="r:") as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert tar.extractfile(members["new.txt"]).read() == b"committed\n"  # type: ignore[union-attr]
    assert "bin/vi" not in members and "bin/sh" in members and "opt/d/f" in members
    assert not [n for n in members if n.rsplit("/", 1)[-1].startswith(".wh.")]
    assert "etc/hosts" in members  # the mount point, as docker export shows it


def test_export_of_a_running_container(engine: Engine, busybox_image: str, unique_id: str) -> None:
    state = engine.container_create(ContainerSpec(
        name=f"rx{unique_id}", image=busybox_image, network_mode="none", init=True,
        mounts=[Mount(type="tmpfs", target="/scratch")],
        command=["sh", "-c", "echo t > /scratch/in-tmpfs && echo live > /live.txt && exec sleep 1000"]))
    engine.container_start(state.id)
    from tests.integration.runtime.conftest import wait_for

    wait_for(lambda: (engine.container_dir(state.id) / "upper" / "live.txt").exists(), what="the file")
    buf = io.BytesIO()
    engine.container_export(state.id, buf)
    buf.seek(0)
    with tarfile.open(fileobj=buf, mode="r:") as tar:
        names = set(tar.getnames())
    assert "live.txt" in names and "bin/busybox" in names
    assert "scratch" in names and "scratch/in-tmpfs" not in names  # mount points, not what is mounted there
    assert not [n for n in names if n.startswith(("proc/", "sys/", "dev/"))]
    assert engine.container_inspect(state.id).status == "running"
    engine.container_pause(state.id)
    buf = io.BytesIO()
    engine.container_export(state.id, buf)  # a paused container too
    assert "live.txt" in tarfile.open(fileobj=io.BytesIO(buf.getvalue())).getnames()
    engine.container_unpause(state.id)
