"""``hoist commit | export | cp`` on a compose project and ``hoist container commit | export | cp`` as whole
processes: the files a container wrote (and deleted) end up in the image, the tar and the host; nothing
leaks (the hoist_root fixture's leak checker)."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

from tests.support.cli import Hoist, wait_for

SCRIPT = "echo made > /made.txt && rm /bin/vi && touch /tmp/ready && exec sleep 1000"


def _tar_names(data: bytes) -> set[str]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return set(tar.getnames())


def test_compose_commit_export_and_cp(hoist_root: Path, busybox_image: str, project_name: str,
                                      tmp_path: Path) -> None:
    h = Hoist(hoist_root, tmp_path, project_name)
    h.write(f"""services:
  app:
    image: {busybox_image}
    network_mode: none
    init: true
    command: ["sh", "-c", "{SCRIPT}"]
""")
    image = f"{project_name}-snap:1"
    try:
        h("up", "-d", timeout=120)
        wait_for(lambda: h("exec", "-T", "app", "test", "-e", "/tmp/ready", check=False).rc == 0, what="app ready")
        r = h("commit", "-c", 'CMD ["cat", "/made.txt"]', "-m", "snapshot", "app", image)
        assert "Committed" in r.err, r.err
        r = h("container", "run", "--rm", "--network", "none", image)
        assert r.out == "made\n"
        r = h("container", "run", "--rm", "--network", "none", image, "sh", "-c", "test -e /bin/vi || echo no-vi")
        assert r.out == "no-vi\n"

        out = tmp_path / "app.tar"
        h("export", "-o", str(out), "app")
        names = _tar_names(out.read_bytes())
        assert "made.txt" in names and "bin/vi" not in names and "bin/sh" in names
        assert not [n for n in names if n.rsplit("/", 1)[-1].startswith(".wh.")]
        piped = subprocess.run(h.argv("export", "--index", "1", "app"), cwd=tmp_path, env=h.env,
                               capture_output=True, timeout=60)
        assert piped.returncode == 0 and "made.txt" in _tar_names(piped.stdout)

        (tmp_path / "in.txt").write_text("from host\n")
        h("cp", "in.txt", "app:/in.txt")
        assert h("exec", "-T", "app", "cat", "/in.txt").out == "from host\n"
        h("cp", "app:/made.txt", "back.txt")
        assert (tmp_path / "back.txt").read_text() == "made\n"
    finally:
        h("down", "-t", "0", check=False)
        h("image", "rm", "-f", image, check=False)


def test_container_commit_export_cp(hoist_root: Path, busybox_image: str, unique_id: str,
                                    tmp_path: Path) -> None:
    h = Hoist(hoist_root, tmp_path, f"p{unique_id}")
    name = f"c{unique_id}"
    h("container", "run", "-d", "--name", name, "--network", "none", "--init", busybox_image, "sh", "-c", SCRIPT)
    try:
        wait_for(lambda: h("container", "exec", name, "test", "-e", "/tmp/ready", check=False).rc == 0,
                 what="container ready")
        image_id = h("container", "commit", "--change", "ENV SNAP=1", "-a", "me", name).out.strip()
        assert image_id.startswith("sha256:") and len(image_id) == 71
        r = h("container", "run", "--rm", "--network", "none", image_id, "sh", "-c", 'echo "$SNAP"; cat /made.txt')
        assert r.out == "1\nmade\n"
        assert h("container", "inspect", name).out  # still there, and running:
        assert h("container", "exec", name, "true").rc == 0

        exported = subprocess.run(h.argv("container", "export", name), cwd=tmp_path, env=h.env,
                                  capture_output=True, timeout=60)
        assert exported.returncode == 0, exported.stderr
        names = _tar_names(exported.stdout)
        assert "made.txt" in names and "bin/vi" not in names

        # cp both ways, a directory, a tar stream on stdin and stdout, a stopped container
        src = tmp_path / "dir"
        (src / "sub").mkdir(parents=True)
        (src / "sub" / "f").write_text("f\n")
        h("container", "cp", str(src), f"{name}:/copied")
        assert h("container", "exec", name, "cat", "/copied/sub/f").out == "f\n"
        h("container", "cp", f"{name}:/copied", str(tmp_path / "back"))
        assert (tmp_path / "back" / "sub" / "f").read_text() == "f\n"
        streamed = subprocess.run(h.argv("container", "cp", f"{name}:/made.txt", "-"), cwd=tmp_path, env=h.env,
                                  capture_output=True, timeout=60)
        assert _tar_names(streamed.stdout) == {"made.txt"}
        whole = subprocess.run(h.argv("container", "cp", f"{name}:/", "-"), cwd=tmp_path, env=h.env,
                               capture_output=True, timeout=60)
        assert whole.returncode == 0, whole.stderr
        names = _tar_names(whole.stdout)
        assert {"./proc", "./sys", "./made.txt"} <= names and not [n for n in names if n.startswith("./proc/")]
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            info = tarfile.TarInfo("streamed.txt")
            info.size = 3
            tar.addfile(info, io.BytesIO(b"st\n"))
        put = subprocess.run(h.argv("container", "cp", "-", f"{name}:/tmp"), cwd=tmp_path, env=h.env,
                             input=buf.getvalue(), capture_output=True, timeout=60)
        assert put.returncode == 0, put.stderr
        assert h("container", "exec", name, "cat", "/tmp/streamed.txt").out == "st\n"
        missing = h("container", "cp", f"{name}:/no/such", str(tmp_path / "x"), check=False)
        assert missing.rc != 0 and "no/such" in missing.err and "Traceback" not in missing.err

        h("container", "stop", "-t", "0", name)
        (tmp_path / "late.txt").write_text("late\n")
        h("container", "cp", str(tmp_path / "late.txt"), f"{name}:/late.txt")
        h("container", "cp", f"{name}:/late.txt", str(tmp_path / "late-back.txt"))
        assert (tmp_path / "late-back.txt").read_text() == "late\n"
        assert "late.txt" in _tar_names(subprocess.run(
            h.argv("container", "export", name), cwd=tmp_path, env=h.env, capture_output=True, timeout=60).stdout)
    finally:
        h("container", "rm", "-f", name, check=False)
