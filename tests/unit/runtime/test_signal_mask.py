"""A container's command starts with an empty signal mask, even glibc's reserved signals included."""

from __future__ import annotations

import ctypes
import os

from runtime import syscalls as sc


def _sigblk() -> str:
    with open("/proc/self/status") as status:
        return next(line.split()[1] for line in status if line.startswith("SigBlk:"))


def test_clear_signal_mask_unblocks_glibc_reserved_signals() -> None:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: block signal 32 the raw way (glibc's sigprocmask refuses to), then clear
        try:
            os.close(r)
            blocked = ctypes.c_uint64(1 << 31)
            libc = ctypes.CDLL(None, use_errno=True)
            libc.syscall(14, ctypes.c_int(0), ctypes.byref(blocked), None, ctypes.c_size_t(8))
            before = _sigblk()
            sc.clear_signal_mask()
            os.write(w, f"{before} {_sigblk()}".encode())
        finally:
            os._exit(0)
    os.close(w)
    before, after = os.read(r, 100).decode().split()
    os.close(r)
    os.waitpid(pid, 0)
    assert int(before, 16) & (1 << 31)
    assert after == "0000000000000000"


def _sigign() -> str:
    with open("/proc/self/status") as status:
        return next(line.split()[1] for line in status if line.startswith("SigIgn:"))


def test_clear_signal_mask_restores_reserved_signal_dispositions() -> None:
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: ignore 32 and 33 as GNU make's children inherit them, then reset
        try:
            os.close(r)
            ignore = (ctypes.c_ulong * 4)(1, 0, 0, 0)  # SIG_IGN
            libc = ctypes.CDLL(None, use_errno=True)
            for sig in (32, 33):
                libc.syscall(13, ctypes.c_int(sig), ctypes.byref(ignore), None, ctypes.c_size_t(8))
            before = _sigign()
            sc.clear_signal_mask()
            os.write(w, f"{before} {_sigign()}".encode())
        finally:
            os._exit(0)
    os.close(w)
    before, after = os.read(r, 100).decode().split()
    os.close(r)
    os.waitpid(pid, 0)
    assert int(before, 16) & (0b11 << 31) == 0b11 << 31
    assert int(after, 16) & (0b11 << 31) == 0
