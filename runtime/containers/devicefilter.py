"""cgroup v2 device allow-list: the v1 ``devices.allow`` rules compiled into a BPF_PROG_TYPE_CGROUP_DEVICE program.

cgroup v2 has no devices files: the kernel asks a BPF program attached to the cgroup on every mknod and
open of a device node (runc does the same, libcontainer/cgroups/devices). The program here denies by default
and allows what one of the rules allows, so the rule strings mean exactly what they mean on v1.
Stdlib only (ctypes): supervisors use this module.
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct

from runtime import syscalls

# bpf_cgroup_dev_ctx.access_type: the low 16 bits are the node type, the high 16 bits the access asked for.
DEV_BLOCK = 1
DEV_CHAR = 2
ACC_MKNOD = 1
ACC_READ = 2
ACC_WRITE = 4
_TYPES = {"b": DEV_BLOCK, "c": DEV_CHAR}
_ACCESS = {"m": ACC_MKNOD, "r": ACC_READ, "w": ACC_WRITE}
_ALL_ACCESS = ACC_MKNOD | ACC_READ | ACC_WRITE

# bpf(2) commands and constants (linux/bpf.h)
BPF_PROG_LOAD = 5
BPF_PROG_ATTACH = 8
BPF_PROG_TYPE_CGROUP_DEVICE = 15
BPF_CGROUP_DEVICE = 6
# Several programs may sit on one cgroup and on its ancestors, and all of them must allow: a nested
# runtime inside the container can tighten the filter but never loosen ours (runc attaches the same way).
BPF_F_ALLOW_MULTI = 2
_SYS_BPF = {"x86_64": 321, "aarch64": 280}.get(os.uname().machine, 321)
_LICENSE = b"Apache"
_LOG_SIZE = 1 << 16

# eBPF opcodes used (class | op | source)
_LDX_MEM_W = 0x61   # dst = *(u32 *)(src + off)
_MOV32_REG = 0xBC   # dst = (u32) src
_AND32_IMM = 0x54   # dst &= imm (32-bit)
_RSH32_IMM = 0x74   # dst >>= imm (32-bit)
_JNE_IMM = 0x55     # if dst != imm: pc += off
_JNE_REG = 0x5D     # if dst != src: pc += off
_MOV64_IMM = 0xB7   # dst = imm
_EXIT = 0x95

# Registers: r1 holds the context on entry; these keep its fields for every rule's checks.
_R_CTX, _R_TYPE, _R_ACCESS, _R_MAJOR, _R_MINOR, _R_SCRATCH = 1, 2, 3, 4, 5, 6


class DeviceRuleError(ValueError):
    """A device rule that is not ``TYPE MAJOR:MINOR ACCESS`` (TYPE a/b/c, numbers or *, ACCESS of r/w/m)."""


class DeviceRule:
    """One allow rule; None is the wildcard.

    A plain class, not a dataclass: supervisors import this module on every start on v2 hosts, and building
    a dataclass's methods there costs ~2 ms (typing.NamedTuple would import typing: ~3 ms)."""

    __slots__ = ("type", "major", "minor", "access")

    def __init__(self, type: int | None, major: int | None, minor: int | None, access: int) -> None:
        self.type = type  # DEV_BLOCK, DEV_CHAR or None for "a"
        self.major = major
        self.minor = minor
        self.access = access  # ACC_* bits

    def _key(self) -> tuple[int | None, int | None, int | None, int]:
        return (self.type, self.major, self.minor, self.access)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DeviceRule) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return "DeviceRule(type={!r}, major={!r}, minor={!r}, access={!r})".format(*self._key())


def parse_rule(text: str) -> DeviceRule:
    """``"c 1:3 rwm"``, ``"b *:* m"``, ``"a"`` (every device, every access, as on v1)."""
    fields = text.split()
    if not fields or fields[0] not in ("a", "b", "c") or len(fields) > 3:
        raise DeviceRuleError(f"device rule {text!r}: expected 'TYPE MAJOR:MINOR ACCESS' with TYPE a, b or c")
    kind = None if fields[0] == "a" else _TYPES[fields[0]]
    numbers = fields[1] if len(fields) > 1 else "*:*"
    access_text = fields[2] if len(fields) > 2 else "rwm"
    major_text, sep, minor_text = numbers.partition(":")
    if not sep or not access_text or not set(access_text) <= set(_ACCESS):
        raise DeviceRuleError(f"device rule {text!r}: numbers must be MAJOR:MINOR and access made of r, w and m")
    access = 0
    for letter in access_text:
        access |= _ACCESS[letter]
    return DeviceRule(kind, _number(text, major_text), _number(text, minor_text), access)


def _number(rule: str, text: str) -> int | None:
    if text == "*":
        return None
    if not text.isdigit() or int(text) >= 1 << 31:  # the program compares with a signed 32-bit immediate
        raise DeviceRuleError(f"device rule {rule!r}: {text!r} is not a device number or *")
    return int(text)


def _insn(opcode: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    """struct bpf_insn: code u8, dst_reg:4 (low nibble) src_reg:4, off s16, imm s32 (host byte order)."""
    return struct.pack("=BBhi", opcode, (src << 4) | dst, off, imm)


def _rule_block(rule: DeviceRule) -> list[bytes]:
    """Checks that jump past the block on a mismatch, then ``return 1``."""
    checks: list[tuple[int, int, int, int]] = []  # (opcode, dst, src, imm) of each conditional jump
    prelude: list[bytes] = []
    if rule.type is not None:
        checks.append((_JNE_IMM, _R_TYPE, 0, rule.type))
    if rule.access != _ALL_ACCESS:
        # Allowed when every bit asked for is in the rule: (asked & rule) == asked. An open for read and
        # write asks both bits at once, so a rule with "r" alone must not allow it.
        prelude = [_insn(_MOV32_REG, _R_SCRATCH, _R_ACCESS), _insn(_AND32_IMM, _R_SCRATCH, imm=rule.access)]
    if rule.major is not None:
        checks.append((_JNE_IMM, _R_MAJOR, 0, rule.major))
    if rule.minor is not None:
        checks.append((_JNE_IMM, _R_MINOR, 0, rule.minor))
    if prelude:
        checks.append((_JNE_REG, _R_SCRATCH, _R_ACCESS, 0))
    allow = [_insn(_MOV64_IMM, 0, imm=1), _insn(_EXIT)]
    block = list(prelude)
    for index, (opcode, dst, src, imm) in enumerate(checks):
        skip = (len(checks) - index - 1) + len(allow)  # the later checks and the allow: to the next block
        block.append(_insn(opcode, dst, src, skip, imm))
    return block + allow


def compile_rules(rules: list[str] | tuple[str, ...]) -> bytes:
    """The program's instructions: load the context's fields, one block per rule, then deny."""
    parsed = [parse_rule(r) for r in rules]
    program = [
        _insn(_LDX_MEM_W, _R_TYPE, _R_CTX, 0),       # access_type
        _insn(_MOV32_REG, _R_ACCESS, _R_TYPE),
        _insn(_RSH32_IMM, _R_ACCESS, imm=16),          # access bits
        _insn(_AND32_IMM, _R_TYPE, imm=0xFFFF),        # node type
        _insn(_LDX_MEM_W, _R_MAJOR, _R_CTX, 4),
        _insn(_LDX_MEM_W, _R_MINOR, _R_CTX, 8),
    ]
    for rule in parsed:
        program.extend(_rule_block(rule))
        if _allows_everything(rule):
            # Its block is an unconditional "return 1": whatever follows could never run, and the verifier
            # rejects a program with unreachable instructions.
            return b"".join(program)
    program += [_insn(_MOV64_IMM, 0, imm=0), _insn(_EXIT)]
    return b"".join(program)


def _allows_everything(rule: DeviceRule) -> bool:
    return rule.type is None and rule.major is None and rule.minor is None and rule.access == _ALL_ACCESS


# ----------------------------------------------------------------------------------------- bpf(2) calls

_libc = syscalls.open_libc()
_libc.syscall.restype = ctypes.c_long


def _bpf(cmd: int, attr: ctypes.Array[ctypes.c_char]) -> int:
    result = _libc.syscall(ctypes.c_long(_SYS_BPF), ctypes.c_int(cmd), attr, ctypes.c_uint(len(attr)))
    if result < 0:
        return -ctypes.get_errno()
    return int(result)


def load_program(instructions: bytes) -> int:
    """BPF_PROG_LOAD; the program's fd. On refusal, an OSError carrying the verifier's log."""
    insns = ctypes.create_string_buffer(instructions, len(instructions))
    license_buf = ctypes.create_string_buffer(_LICENSE)
    fd = _bpf(BPF_PROG_LOAD, _load_attr(insns, license_buf, None))
    if fd >= 0:
        return fd
    # Load again with a log only on failure, as libbpf does: the verifier is slower when it writes one.
    log = ctypes.create_string_buffer(_LOG_SIZE)
    retry = _bpf(BPF_PROG_LOAD, _load_attr(insns, license_buf, log))
    if retry >= 0:
        return retry
    err = -retry
    detail = log.value.decode(errors="replace").strip()
    hint = " (needs CAP_SYS_ADMIN or CAP_BPF and a kernel with CONFIG_CGROUP_BPF)" if err in (
        errno.EPERM, errno.EINVAL) and not detail else ""
    message = f"cannot load the device filter (BPF_PROG_LOAD): {os.strerror(err)}{hint}"
    raise OSError(err, message + (f"; verifier log:\n{detail}" if detail else ""))


def _load_attr(insns: ctypes.Array[ctypes.c_char], license_buf: ctypes.Array[ctypes.c_char],
               log: ctypes.Array[ctypes.c_char] | None) -> ctypes.Array[ctypes.c_char]:
    # union bpf_attr, BPF_PROG_LOAD: prog_type, insn_cnt, insns, license, log_level, log_size, log_buf.
    attr = struct.pack("=IIQQIIQ", BPF_PROG_TYPE_CGROUP_DEVICE, len(insns) // 8, ctypes.addressof(insns),
                       ctypes.addressof(license_buf), 1 if log is not None else 0,
                       len(log) if log is not None else 0, ctypes.addressof(log) if log is not None else 0)
    return ctypes.create_string_buffer(attr, len(attr))


def attach_program(prog_fd: int, cgroup_dir: str) -> None:
    """BPF_PROG_ATTACH to the cgroup directory (the attachment holds the program from then on)."""
    dir_fd = os.open(cgroup_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        attr = struct.pack("=IIII", dir_fd, prog_fd, BPF_CGROUP_DEVICE, BPF_F_ALLOW_MULTI)
        result = _bpf(BPF_PROG_ATTACH, ctypes.create_string_buffer(attr, len(attr)))
    finally:
        os.close(dir_fd)
    if result < 0:
        # The caller (cgroups) prefixes the directory, as it does for every cgroup file it writes.
        raise OSError(-result, f"cannot attach the device filter (BPF_PROG_ATTACH): {os.strerror(-result)}")


def apply_device_filter(cgroup_dir: str, rules: list[str] | tuple[str, ...]) -> None:
    """Compile, load and attach the allow-list; the program fd is closed once attached."""
    prog_fd = load_program(compile_rules(rules))
    try:
        attach_program(prog_fd, cgroup_dir)
    finally:
        os.close(prog_fd)
