"""ctypes wrappers for the Linux system calls the runtime needs and Python 3.11's ``os`` lacks.

Every wrapper raises ``OSError`` with the errno and a short context, like the ``os`` functions do. Stdlib
only: supervisors and container inits import this.
"""

from __future__ import annotations

import ctypes
import os
import struct


def open_libc() -> ctypes.CDLL:
    """A handle of its own on the C library (callers set argtypes/restype on theirs without touching others').

    The glibc soname directly: ctypes.util.find_library runs `ldconfig -p` (a fork and exec in every
    process, and ctypes.util imports subprocess, tempfile and random), only to find this same name.
    """
    try:
        return ctypes.CDLL("libc.so.6", use_errno=True)
    except OSError:  # not glibc (musl...): ask the loader's cache after all
        from ctypes.util import find_library

        return ctypes.CDLL(find_library("c") or "libc.so.6", use_errno=True)


_libc = open_libc()

# namespace flags (linux/sched.h)
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

# mount flags (linux/mount.h)
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_NOATIME = 1024
MS_BIND = 4096
MS_MOVE = 8192
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_SHARED = 1 << 20
MS_STRICTATIME = 1 << 24
MNT_DETACH = 2

# prctl options
PR_SET_PDEATHSIG = 1
PR_CAPBSET_READ = 23
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_SET_CHILD_SUBREAPER = 36
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4

_SYS_PIVOT_ROOT = 155  # x86_64
_SYS_SETNS = 308
_SYS_RT_SIGACTION = 13
_SYS_RT_SIGPROCMASK = 14
_GLIBC_RESERVED_SIGNALS = (32, 33)  # SIGCANCEL, SIGSETXID: invisible to Python's signal module
_SIG_SETMASK = 2
_SYS_PIDFD_OPEN = 434
_SYS_PIDFD_SEND_SIGNAL = 424
_SYS_CAPSET = 126
_LINUX_CAPABILITY_VERSION_3 = 0x20080522

_libc.mount.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p)
_libc.umount2.argtypes = (ctypes.c_char_p, ctypes.c_int)
_libc.unshare.argtypes = (ctypes.c_int,)
_libc.sethostname.argtypes = (ctypes.c_char_p, ctypes.c_size_t)
_libc.setdomainname.argtypes = (ctypes.c_char_p, ctypes.c_size_t)
_libc.prctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong)
_libc.syscall.restype = ctypes.c_long
_libc.renameat2.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint)


def _check(result: int, what: str) -> int:
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return result


def _b(value: str | bytes | None) -> bytes | None:
    if value is None or isinstance(value, bytes):
        return value
    return value.encode()


def mount(source: str | None, target: str, fstype: str | None, flags: int = 0, data: str | None = None) -> None:
    _check(_libc.mount(_b(source), _b(target), _b(fstype), flags, _b(data)), f"mount {target}")


def umount2(target: str, flags: int = 0) -> None:
    _check(_libc.umount2(_b(target), flags), f"umount {target}")


def unshare(flags: int) -> None:
    _check(_libc.unshare(flags), "unshare")


def setns(fd: int, nstype: int = 0) -> None:
    _check(_libc.syscall(_SYS_SETNS, ctypes.c_int(fd), ctypes.c_int(nstype)), "setns")


def setns_path(path: str | os.PathLike[str], nstype: int = 0) -> None:
    """Enter the namespace a /proc/<pid>/ns/* file or a bind mount of one names."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        setns(fd, nstype)
    finally:
        os.close(fd)


def pivot_root(new_root: str, put_old: str) -> None:
    _check(_libc.syscall(_SYS_PIVOT_ROOT, _b(new_root), _b(put_old)), "pivot_root")


def sethostname(name: str) -> None:
    raw = name.encode()
    _check(_libc.sethostname(raw, len(raw)), "sethostname")


def setdomainname(name: str) -> None:
    raw = name.encode()
    _check(_libc.setdomainname(raw, len(raw)), "setdomainname")


def prctl(option: int, arg2: int = 0, arg3: int = 0, arg4: int = 0, arg5: int = 0) -> int:
    return _check(_libc.prctl(option, arg2, arg3, arg4, arg5), f"prctl({option})")


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def rename_exchange(a: str, b: str) -> None:
    """Swap two names atomically (renameat2 RENAME_EXCHANGE): both files stay, each under the other's name."""
    _check(_libc.renameat2(_AT_FDCWD, a.encode(), _AT_FDCWD, b.encode(), _RENAME_EXCHANGE),
           f"rename {a} <-> {b}")


def pidfd_open(pid: int) -> int:
    return _check(_libc.syscall(_SYS_PIDFD_OPEN, ctypes.c_int(pid), ctypes.c_uint(0)), f"pidfd_open {pid}")


def pidfd_send_signal(pidfd: int, sig: int) -> None:
    _check(_libc.syscall(_SYS_PIDFD_SEND_SIGNAL, ctypes.c_int(pidfd), ctypes.c_int(sig), None,
                         ctypes.c_uint(0)), "pidfd_send_signal")


def clear_signal_mask() -> None:
    """Unblock every signal and give glibc's reserved ones (32, 33) their default disposition.

    glibc's sigprocmask and Python's signal module never touch those two, so a mask or an ignore inherited
    from the caller (GNU make, for one, starts its commands with 32 and 33 ignored, and SIG_IGN survives
    execve) would reach the container's command; the raw system calls reset them, as runc does.
    """
    _check(_libc.syscall(_SYS_RT_SIGPROCMASK, _SIG_SETMASK_ARG, _EMPTY_MASK_REF, None, _SIGSET_SIZE),
           "rt_sigprocmask")
    for sig in _GLIBC_RESERVED_ARGS:
        _check(_libc.syscall(_SYS_RT_SIGACTION, sig, _DEFAULT_ACTION_REF, None, _SIGSET_SIZE), "rt_sigaction")


# clear_signal_mask's arguments, built once at import: it runs first thing in freshly forked children, where
# each new ctypes object costs copy-on-write faults (measured: ~0.2 ms when built per call there).
_SIG_SETMASK_ARG = ctypes.c_int(_SIG_SETMASK)
_SIGSET_SIZE = ctypes.c_size_t(8)
_EMPTY_MASK = ctypes.c_uint64(0)
_EMPTY_MASK_REF = ctypes.byref(_EMPTY_MASK)
_DEFAULT_ACTION = (ctypes.c_ulong * 4)(0, 0, 0, 0)  # handler SIG_DFL, flags, restorer, mask
_DEFAULT_ACTION_REF = ctypes.byref(_DEFAULT_ACTION)
_GLIBC_RESERVED_ARGS = tuple(ctypes.c_int(sig) for sig in _GLIBC_RESERVED_SIGNALS)


def capset(effective: int, permitted: int, inheritable: int) -> None:
    """Set the three capability sets of the calling thread (64-bit masks, version 3 ABI)."""
    header = struct.pack("Ii", _LINUX_CAPABILITY_VERSION_3, 0)
    data = struct.pack("IIIIII", effective & 0xFFFFFFFF, permitted & 0xFFFFFFFF, inheritable & 0xFFFFFFFF,
                       effective >> 32, permitted >> 32, inheritable >> 32)
    hbuf = ctypes.create_string_buffer(header, len(header))
    dbuf = ctypes.create_string_buffer(data, len(data))
    _check(_libc.syscall(_SYS_CAPSET, hbuf, dbuf), "capset")


def cap_last_cap() -> int:
    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            return int(f.read())
    except OSError:
        return 40


def process_start_time(pid: int) -> int | None:
    """Field 22 of /proc/<pid>/stat (clock ticks since boot): tells a pid apart from a reused one."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            raw = f.read()
    except OSError:
        return None
    # comm may contain spaces and parentheses: split after the last ')'.
    fields = raw[raw.rfind(b")") + 2:].split()
    if len(fields) < 20 or fields[0] == b"Z":
        return None  # a zombie has exited already
    return int(fields[19])


def boot_id() -> str:
    with open("/proc/sys/kernel/random/boot_id") as f:
        return f.read().strip()



_SIOCGIFFLAGS = 0x8913
_SIOCSIFFLAGS = 0x8914
_IFF_UP = 0x1


def set_link_up(name: str = "lo") -> None:
    """Bring an interface of the calling thread's netns up (``ip link set lo up``) with two ioctls: a fresh
    netns starts with its loopback down, and loading a netlink library into a container's init would cost
    far more than the ioctls."""
    import fcntl
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        req = struct.pack("16sh", name.encode(), 0)
        flags = struct.unpack("16sh", fcntl.ioctl(s.fileno(), _SIOCGIFFLAGS, req))[1]
        if not flags & _IFF_UP:
            fcntl.ioctl(s.fileno(), _SIOCSIFFLAGS, struct.pack("16sh", name.encode(), flags | _IFF_UP))


def new_loopback_netns() -> int:
    """A new network namespace with its loopback up, as a container without a network gets; returns an fd
    (close-on-exec) that holds it. The calling thread makes it and goes back to the network namespace it
    was in; if it cannot go back, the process exits rather than live on in the wrong one."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
    try:
        unshare(CLONE_NEWNET)
        try:
            set_link_up("lo")
            return os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        finally:
            try:
                setns(own, CLONE_NEWNET)
            except OSError:
                os._exit(125)
    finally:
        os.close(own)
