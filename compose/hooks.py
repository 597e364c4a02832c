"""``post_start`` / ``pre_stop``: commands run inside a service's container around its start and its stop.

As compose's (2.30+): each hook is an exec in the container (its user, working directory, environment,
privileged flag), run in order; ``post_start`` hooks run right after the container started and before it is
reported Started, ``pre_stop`` hooks after Stopping is reported and before the stop signal. A hook that exits
non-zero is an error of that service, ``<service> hook exited with status N``: after ``post_start`` the
container keeps running (compose does not stop it), and a failing ``pre_stop`` hook aborts that container's
stop. The hook's standard input is /dev/null; its output is kept and its last lines go into the error.
"""

from __future__ import annotations

import inspect
import os
import shlex
import threading

from compose.errors import OperationError
from compose.model import ServiceHook
from runtime.api import EngineAPI, ExecSpec

OUTPUT_TAIL = 10  # lines of a failed hook's output in its error


def run_hooks(engine: EngineAPI, container: str, service: str, hooks: list[ServiceHook], what: str) -> None:
    """Run ``hooks`` (``what``: "post_start" or "pre_stop") in ``container``, in order; raise on the first
    that fails."""
    for hook in hooks:
        code, output = _exec(engine, container, ExecSpec(
            command=list(hook.command), user=hook.user, working_dir=hook.working_dir, privileged=hook.privileged,
            env={k: v for k, v in hook.environment.items() if v is not None}))
        if code != 0:
            tail = "\n".join(output.splitlines()[-OUTPUT_TAIL:])
            raise OperationError(f"{service} hook exited with status {code}"
                                 + (f"; its output:\n{tail}" if tail.strip() else ""),
                                 hint=f"the {what} hook `{shlex.join(hook.command)}` of service \"{service}\" "
                                      f"failed in {container}; fix it or remove it from the compose file")


def _exec(engine: EngineAPI, container: str, spec: ExecSpec) -> tuple[int, str]:
    """The exit code and the combined output of ``spec`` in ``container`` (stdin /dev/null)."""
    if "stdio" not in inspect.signature(engine.container_exec).parameters:
        return engine.container_exec(container, spec), ""  # an engine without stdio redirection (tests' fakes)
    read_end, write_end = os.pipe2(os.O_CLOEXEC)
    chunks: list[bytes] = []

    def drain() -> None:
        try:
            while data := os.read(read_end, 65536):
                chunks.append(data)
                if sum(map(len, chunks)) > 1 << 20:  # keep the last megabyte at most
                    del chunks[:-1]
        finally:
            os.close(read_end)  # here, not by the caller: a hook's background process may hold the other end

    reader = threading.Thread(target=drain, name="hoist-hook-output", daemon=True)
    reader.start()
    null = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    try:
        code = engine.container_exec(container, spec, stdio=(null, write_end, write_end))  # type: ignore[call-arg]
    finally:
        os.close(null)
        os.close(write_end)  # the reader sees EOF once the exec's copies are closed too
        reader.join(5)  # not longer: a background process the hook left may keep its output open
    return code, b"".join(chunks).decode("utf-8", "replace")
