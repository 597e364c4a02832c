"""Engine states rendered in the shape of ``docker inspect`` (the keys tools look for)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from runtime.containers.defaults import container_hostname


def container_to_docker(s: Any) -> dict[str, Any]:
    spec = s.spec
    health = None
    if s.health:
        health = {"Status": s.health, "FailingStreak": s.health_failing_streak,
                  "Log": [{"Start": e.start, "End": e.end, "ExitCode": e.exit_code, "Output": e.output}
                          for e in s.health_log]}
    state = {
        "Status": s.status, "Running": s.status in ("running", "paused"), "Paused": s.status == "paused",
        "Restarting": s.status == "restarting", "OOMKilled": s.oom_killed, "Dead": s.status == "dead",
        "Pid": s.pid, "ExitCode": s.exit_code, "Error": s.error, "StartedAt": s.started_at or "0001-01-01T00:00:00Z",
        "FinishedAt": s.finished_at or "0001-01-01T00:00:00Z",
    }
    if health is not None:
        state["Health"] = health
    out: dict[str, Any] = {
        "Id": s.id, "Created": s.created, "Name": "/" + s.name, "Image": s.image_id, "State": state,
        "RestartCount": s.restart_count,
        "Config": {"Image": s.image, "Labels": s.labels},
        "NetworkSettings": {"Networks": {e.network: {"IPAddress": e.ip_address, "IPPrefixLen": e.prefix_len,
                                                      "Gateway": e.gateway, "MacAddress": e.mac_address,
                                                      "Aliases": e.aliases} for e in s.endpoints},
                            "Ports": {f"{p.container_port}/{p.protocol}": [{"HostIp": p.host_ip,
                                                                            "HostPort": str(p.host_port)}]
                                      for p in s.ports}},
    }
    if spec is not None:
        out["Config"].update({"Hostname": container_hostname(spec.hostname, s.id, spec.network_mode,
                                                                spec.uts_mode), "User": spec.user or "",
                              "Env": [f"{k}={v}" for k, v in spec.env.items()], "Cmd": spec.command,
                              "Entrypoint": spec.entrypoint, "WorkingDir": spec.working_dir or "",
                              "Tty": spec.tty, "OpenStdin": spec.stdin_open, "StdinOnce": spec.stdin_once,
                              "StopSignal": spec.stop_signal})
        r = spec.resources
        out["HostConfig"] = {
            "NetworkMode": spec.network_mode, "Privileged": spec.privileged, "ReadonlyRootfs": spec.read_only,
            "CapAdd": spec.cap_add, "CapDrop": spec.cap_drop, "Init": spec.init,
            "RestartPolicy": {"Name": spec.restart.name, "MaximumRetryCount": spec.restart.max_retries},
            "Memory": r.memory or 0, "MemoryReservation": r.memory_reservation or 0,
            "MemorySwap": r.memory_swap or 0, "NanoCpus": int((r.cpus or 0) * 1e9),
            "CpuShares": r.cpu_shares or 0, "CpusetCpus": r.cpuset_cpus or "", "PidsLimit": r.pids_limit,
            "SecurityOpt": spec.security_opt, "Sysctls": spec.sysctls, "OomScoreAdj": spec.oom_score_adj or 0,
            "ShmSize": spec.shm_size or 67108864,
            "PidMode": spec.pid_mode or "", "IpcMode": spec.ipc_mode or "private",
            "UTSMode": spec.uts_mode or "", "CgroupnsMode": spec.cgroupns_mode or "private",
            "CgroupParent": spec.cgroup_parent or "", "UsernsMode": "",
            "MemorySwappiness": r.mem_swappiness, "OomKillDisable": r.oom_kill_disable,
            "DeviceCgroupRules": spec.device_cgroup_rules or None,
            "Annotations": spec.annotations or None,
            "Ulimits": [{"Name": u.name, "Soft": u.soft, "Hard": u.hard} for u in spec.ulimits],
        }
        out["Mounts"] = [{"Type": m.type, "Source": m.source, "Destination": m.target, "RW": not m.read_only,
                          "Propagation": m.propagation} for m in spec.mounts]
        if spec.healthcheck:
            out["Config"]["Healthcheck"] = asdict(spec.healthcheck)
    return out
