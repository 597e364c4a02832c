"""`hoist image ...` as whole processes, with docker's flags and output shapes."""

from __future__ import annotations

import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.support.cli import Hoist
from tests.support.tarbuild import Entry, make_tar


@pytest.fixture
def hoist(hoist_root: Path, busybox_image: str, project_name: str, tmp_path: Path) -> Hoist:
    return Hoist(hoist_root, tmp_path, project_name)


def rows(text: str) -> list[list[str]]:
    return [line.split() for line in text.splitlines()[1:] if line.strip()]


def test_import_with_changes_ls_inspect_history(hoist: Hoist, tmp_path: Path) -> None:
    (tmp_path / "rootfs.tar").write_bytes(make_tar([Entry("hello.txt", data=b"hi")]))
    out = hoist("image", "import", "-c", 'CMD ["/bin/app", "-v"]', "--change", "ENV MODE=prod",
                "-c", "EXPOSE 8080/udp", "-m", "my import", str(tmp_path / "rootfs.tar"), "me/app:1.0").out
    image_id = out.strip()
    assert image_id.startswith("sha256:") and len(image_id) == 71
    ls = hoist("image", "ls").out
    assert ls.splitlines()[0].split() == ["REPOSITORY", "TAG", "IMAGE", "ID", "CREATED", "SIZE"]
    table = {(r[0], r[1]): r for r in rows(ls)}
    assert table[("me/app", "1.0")][2] == image_id[7:19]
    assert ("busybox", "latest") in table
    assert hoist("image", "ls", "-q", "me/app").out.split() == [image_id[7:19]]
    as_json = [json.loads(line) for line in hoist("image", "ls", "--format", "json").out.splitlines()]
    assert {(r["Repository"], r["Tag"]) for r in as_json} == {("me/app", "1.0"), ("busybox", "latest")}
    assert hoist("image", "ls", "--format", "{{.Repository}}:{{.Tag}}", "--filter",
                 "reference=me/*").out.split() == ["me/app:1.0"]
    (doc,) = json.loads(hoist("image", "inspect", "me/app:1.0").out)
    assert doc["Id"] == image_id and doc["RepoTags"] == ["me/app:1.0"]
    assert doc["Config"]["Cmd"] == ["/bin/app", "-v"] and doc["Config"]["Env"] == ["MODE=prod"]
    assert doc["Config"]["ExposedPorts"] == {"8080/udp": {}} and doc["Comment"] == "my import"
    assert doc["RootFS"]["Type"] == "layers" and len(doc["RootFS"]["Layers"]) == 1
    assert doc["Size"] == 2 and doc["Os"] == "linux"
    assert hoist("image", "inspect", "-f", "{{.Id}}", "me/app:1.0").out.strip() == image_id
    history = hoist("image", "history", "me/app:1.0").out.splitlines()
    assert history[0].split()[:2] == ["IMAGE", "CREATED"] and image_id[7:19] in history[1]
    assert "my import" in history[1]
    missing = hoist("image", "inspect", "nope:1", check=False)
    assert missing.rc == 1 and "no such image: nope:1" in missing.err and json.loads(missing.out) == []


def test_tag_rm_prune(hoist: Hoist, tmp_path: Path) -> None:
    hoist("image", "tag", "busybox", "localhost:5000/bb:v1")
    assert ["localhost:5000/bb", "v1"] in [r[:2] for r in rows(hoist("image", "ls").out)]
    assert hoist("image", "rm", "localhost:5000/bb:v1").out.strip() == "Untagged: localhost:5000/bb:v1"
    (tmp_path / "r.tar").write_bytes(make_tar([Entry("x", data=b"x")]))
    dangling = hoist("image", "import", str(tmp_path / "r.tar")).out.strip()
    assert ["<none>", "<none>", dangling[7:19]] in [r[:3] for r in rows(hoist("image", "ls").out)]
    assert hoist("image", "ls", "-q", "--filter", "dangling=true").out.split() == [dangling[7:19]]
    # Without -f prune asks; "no" (or no answer) keeps everything.
    asked = subprocess.run(hoist.argv("image", "prune"), input="n\n", cwd=hoist.workdir, env=hoist.env,
                           capture_output=True, text=True, timeout=60)
    assert "WARNING! This will remove all dangling images." in asked.stdout
    assert dangling[7:19] in hoist("image", "ls", "-q").out
    pruned = hoist("image", "prune", "-f").out
    assert f"deleted: {dangling}" in pruned and "Total reclaimed space: 1B" in pruned
    bad = hoist("image", "rm", "nope", check=False)
    assert bad.rc == 1 and "no such image" in bad.err
    assert "Untagged: busybox:latest" in hoist("image", "rm", "busybox").out
    assert hoist("image", "ls", "-q").out.strip() == ""


@pytest.mark.parametrize("fmt", ["docker", "oci"])
def test_save_and_load(hoist: Hoist, tmp_path: Path, fmt: str) -> None:
    archive = tmp_path / f"bb-{fmt}.tar"
    hoist("image", "save", "-o", str(archive), "--format", fmt, "busybox")
    names = tarfile.open(archive).getnames()
    assert ("manifest.json" in names) if fmt == "docker" else ("index.json" in names and "oci-layout" in names)
    image_id = hoist("image", "inspect", "-f", "{{.Id}}", "busybox").out.strip()
    hoist("image", "rm", "busybox")
    assert hoist("image", "load", "-i", str(archive)).out.strip() == "Loaded image: busybox:latest"
    assert hoist("image", "inspect", "-f", "{{.Id}}", "busybox").out.strip() == image_id
    assert hoist("image", "load", "-q", "-i", str(archive)).out == ""


def test_save_to_stdout_load_from_stdin(hoist: Hoist, tmp_path: Path) -> None:
    saved = subprocess.run(hoist.argv("image", "save", "busybox"), cwd=hoist.workdir, env=hoist.env,
                           capture_output=True, timeout=60)
    assert saved.returncode == 0, saved.stderr
    hoist("image", "tag", "busybox", "other:1")
    hoist("image", "rm", "busybox")
    loaded = subprocess.run(hoist.argv("image", "load"), input=saved.stdout, cwd=hoist.workdir, env=hoist.env,
                            capture_output=True, timeout=60)
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.decode().strip() == "Loaded image: busybox:latest"


def test_corrupt_archive_is_a_clean_error(hoist: Hoist, tmp_path: Path) -> None:
    (tmp_path / "bad.tar").write_bytes(b"garbage" * 1000)
    result = hoist("image", "load", "-i", str(tmp_path / "bad.tar"), check=False)
    assert result.rc == 1
    assert result.err.startswith("error: invalid image archive") and "Traceback" not in result.err
    bad_change = hoist("image", "import", "-c", "RUN rm -rf /", str(tmp_path / "bad.tar"), check=False)
    assert bad_change.rc == 1 and "RUN is not allowed" in bad_change.err
