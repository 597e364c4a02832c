"""Probes from inside a container (crun/runc style): what a default container can and cannot do."""

from __future__ import annotations

import os
from pathlib import Path

from runtime.containers.defaults import CAPABILITY_NUMBERS, DEFAULT_CAPABILITIES

DOCKER_DEFAULT_CAPS = sum(1 << CAPABILITY_NUMBERS[c] for c in DEFAULT_CAPABILITIES)


def _caps(text: str) -> dict[str, int]:
    return {line.split(":")[0]: int(line.split()[1], 16) for line in text.splitlines() if line.startswith("Cap")}


def test_default_capabilities_are_dockers_14(probe):
    code, out = probe("grep -E '^(Cap|NoNewPrivs)' /proc/self/status")
    caps = _caps(out)
    assert code == 0
    assert caps["CapBnd"] == caps["CapEff"] == caps["CapPrm"] == DOCKER_DEFAULT_CAPS
    assert caps["CapInh"] == caps["CapAmb"] == 0
    assert "NoNewPrivs:\t0" in out


def test_cap_add_drop_and_no_new_privileges(probe):
    _, out = probe("grep -E '^(CapEff|NoNewPrivs)' /proc/self/status", cap_add=["NET_ADMIN"],
                   cap_drop=["chown", "CAP_NET_RAW"], security_opt=["no-new-privileges"])
    eff = _caps(out)["CapEff"]
    assert eff & (1 << CAPABILITY_NUMBERS["CAP_NET_ADMIN"])
    assert not eff & (1 << CAPABILITY_NUMBERS["CAP_CHOWN"])
    assert not eff & (1 << CAPABILITY_NUMBERS["CAP_NET_RAW"])
    assert "NoNewPrivs:\t1" in out


def test_privileged_gets_every_capability(probe):
    _, out = probe("grep CapEff /proc/self/status", privileged=True)
    # Everything the runtime itself holds (root in this VM lacks CAP_SYS_RESOURCE).
    assert _caps(out)["CapEff"] == _caps(Path("/proc/self/status").read_text())["CapPrm"]


def test_pid1_hostname_and_namespaces(probe):
    code, out = probe("echo pid=$$; hostname; cat /proc/1/cmdline | tr '\\0' ' '; echo; ls /proc | grep -c '^[0-9]'",
                      hostname="probe-host", domainname="example.org")
    lines = out.splitlines()
    assert code == 0
    assert lines[0] == "pid=1"
    assert lines[1] == "probe-host"
    assert lines[2].startswith("sh -c")
    assert int(lines[3]) <= 3  # only the container's own processes are visible


def test_masked_paths_are_unreadable_and_sys_is_readonly(probe):
    script = ("cat /proc/keys | wc -c; cat /proc/timer_list | wc -c; ls /sys/firmware | wc -l; "
              "touch /sys/kernel/x 2>&1 | grep -c 'Read-only'; (echo 1 > /proc/sys/kernel/domainname) 2>&1 "
              "| grep -c 'Read-only'; for p in /proc/fs /proc/bus /proc/irq /sys; do "
              "awk -v p=$p '$5 == p {print substr($6, 1, 3)}' /proc/self/mountinfo | tail -1; done")
    code, out = probe(script)
    assert out.split() == ["0", "0", "0", "1", "1", "ro,", "ro,", "ro,", "ro,"]


def test_mount_and_module_loading_are_denied(probe):
    script = ("mount -t tmpfs none /tmp 2>&1 | grep -c 'denied\\|not permitted'; "
              "umount /proc 2>&1 | grep -c 'denied\\|not permitted'; "
              "echo junk > /tmp/m.ko; insmod /tmp/m.ko 2>/dev/null || echo 1; "
              "mknod /tmp/sda b 8 0 && (head -c1 /tmp/sda 2>&1 | grep -c 'not permitted')")
    code, out = probe(script + "; grep CapBnd /proc/self/status")
    *denied, bounding = out.splitlines()
    assert denied == ["1", "1", "1", "1"]
    # This kernel has no module support (insmod fails for everyone); the capability must be gone anyway.
    assert not _caps(bounding)["CapBnd"] & (1 << CAPABILITY_NUMBERS["CAP_SYS_MODULE"])


def test_dev_is_private_and_minimal(probe):
    _, out = probe("ls /dev | sort | tr '\\n' ' '; echo; ls -l /dev/null | cut -c1-10; "
                   "mount | grep -E ' /dev/(pts|shm|mqueue) ' | cut -d' ' -f3 | sort | tr '\\n' ' '",
                   shm_size=8 * 1024 * 1024)
    names, mode, mounts = out.splitlines()
    assert set(names.split()) >= {"null", "zero", "full", "random", "urandom", "tty", "pts", "shm", "mqueue", "ptmx"}
    assert "sda" not in names and "kmsg" not in names
    assert mode == "crw-rw-rw-"
    assert mounts.split() == ["/dev/mqueue", "/dev/pts", "/dev/shm"]


def test_no_file_descriptors_leak_into_the_container(probe):
    _, out = probe("ls /proc/self/fd | sort -n | tr '\\n' ' '")
    # 0-2 plus the one ls opened to read the directory.
    assert [int(x) for x in out.split()] == [0, 1, 2, 3]


def test_user_by_name_and_group_add(probe):
    _, out = probe("id", user="app", group_add=["users"])
    assert out.startswith("uid=1000(app) gid=1000(app) groups=")
    assert "100(users)" in out.split("groups=")[1]


def test_a_user_cannot_write_where_it_must_not(probe):
    code, out = probe("touch /etc/x 2>&1 | grep -c 'denied'; touch /home/app/ok && echo wrote; "
                      "grep CapEff /proc/self/status", user="1000:1000")
    lines = out.splitlines()
    assert lines[0] == "1"
    assert lines[1] == "wrote"
    assert _caps(lines[2])["CapEff"] == 0


def test_read_only_rootfs_with_tmpfs(probe):
    from runtime.api import Mount

    _, out = probe("touch /x 2>&1 | grep -c 'Read-only'; touch /scratch/y && echo tmpfs-ok",
                   read_only=True, mounts=[Mount(type="tmpfs", target="/scratch")])
    assert out.split() == ["1", "tmpfs-ok"]


def test_env_workdir_and_entrypoint(probe, busybox_image):
    _, out = probe("", entrypoint=["/bin/sh", "-c", "pwd; echo $GREETING; echo $HOSTNAME", "--"],
                   command=None, working_dir="/work/dir", env={"GREETING": "hello"}, hostname="h1")
    assert out.splitlines() == ["/work/dir", "hello", "h1"]


def test_ulimits_sysctls_and_oom_score_adj(probe):
    _, out = probe("ulimit -n; cat /proc/sys/kernel/shm_rmid_forced; cat /proc/self/oom_score_adj",
                   ulimits=[__import__("runtime.api", fromlist=["Ulimit"]).Ulimit("nofile", 512, 1024)],
                   sysctls={"kernel.shm_rmid_forced": "1"}, oom_score_adj=500)
    assert out.split() == ["512", "1", "500"]


def test_bind_mounts_read_only_and_read_write(probe, tmp_path):
    from runtime.api import Mount

    rw, ro = tmp_path / "rw", tmp_path / "ro"
    ro.mkdir()
    (ro / "f").write_text("data")
    _, out = probe("echo hi > /rw/new && echo rw-ok; cat /ro/f; echo; touch /ro/g 2>&1 | grep -c 'Read-only'",
                   mounts=[Mount(type="bind", source=str(rw), target="/rw"),
                           Mount(type="bind", source=str(ro), target="/ro", read_only=True)])
    assert out.split() == ["rw-ok", "data", "1"]
    assert (rw / "new").read_text() == "hi\n"  # create_host_path made the missing source


def test_named_volume_gets_image_content_unless_nocopy(engine, probe):
    from runtime.api import Mount

    probe("true", mounts=[Mount(type="volume", source="homevol", target="/home")])
    probe("true", mounts=[Mount(type="volume", source="emptyvol", target="/home", nocopy=True)])
    copied = Path(engine.volume_inspect("homevol").mountpoint) / "app"
    assert copied.is_dir() and copied.stat().st_uid == 1000
    assert os.listdir(engine.volume_inspect("emptyvol").mountpoint) == []


def test_devices_passed_in_are_usable_and_others_are_not(probe):
    code, out = probe("head -c 3 /dev/zero2 | wc -c; ls -l /dev/zero2 | cut -c1; "
                      "mknod /tmp/mem c 1 1 && (head -c1 /tmp/mem 2>&1 | grep -c 'not permitted')",
                      devices=["/dev/zero:/dev/zero2:rw"])
    assert out.split() == ["3", "c", "1"]
