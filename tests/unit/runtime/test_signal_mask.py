"""A container's command starts with an empty signal mask, even glibc's reserved signals included."""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable

from runtime import syscalls as sc


def _status_field(name: str) -> str:
    with open("/proc/self/status") as status:
        return next(line.split()[1] for line in status if line.startswith(f"{name}:"))


def _in_child(prepare: Callable[[ctypes.CDLL], None], field: str) -> tuple[int, int]:
    """In a forked child: ``prepare`` the signal state, read ``field``, clear, read again (as hex ints)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            prepare(ctypes.CDLL(None, use_errno=True))
            before = _status_field(field)
            sc.clear_signal_mask()
            os.write(w, f"{before} {_status_field(field)}".encode())
        finally:
            os._exit(0)
    os.close(w)
    before, after = os.read(r, 100).decode().split()
    os.close(r)
    os.waitpid(pid, 0)
    return int(before, 16), int(after, 16)


def test_clear_signal_mask_unblocks_glibc_reserved_signals() -> None:
    def block_32(libc: ctypes.CDLL) -> None:  # the raw way: glibc's sigprocmask refuses to
        blocked = ctypes.c_uint64(1 << 31)
        libc.syscall(14, ctypes.c_int(0), ctypes.byref(blocked), None, ctypes.c_size_t(8))

    before, after = _in_child(block_32, "SigBlk")
    assert before & (1 << 31)
    assert after == 0


def test_clear_signal_mask_restores_reserved_signal_dispositions() -> None:
    def ignore_32_33(libc: ctypes.CDLL) -> None:  # as GNU make's children inherit them
        ignore = (ctypes.c_ulong * 4)(1, 0, 0, 0)  # SIG_IGN
        for sig in (32, 33):
            libc.syscall(13, ctypes.c_int(sig), ctypes.byref(ignore), None, ctypes.c_size_t(8))

    before, after = _in_child(ignore_32_33, "SigIgn")
    assert before & (0b11 << 31) == 0b11 << 31
    assert after & (0b11 << 31) == 0
