"""The device rules compiled to eBPF: exact bytes for small rule sets, and the program's verdict (run by a
small interpreter of the instructions it uses) against the v1 meaning of the rules."""

from __future__ import annotations

import itertools
import struct

import pytest

from runtime.containers.cgroups import DEFAULT_DEVICE_RULES
from runtime.containers.devicefilter import DeviceRule, DeviceRuleError, compile_rules, parse_rule


def _i(code: int, dst: int = 0, src: int = 0, off: int = 0, imm: int = 0) -> bytes:
    return struct.pack("<BBhi", code, src << 4 | dst, off, imm)


PROLOGUE = [_i(0x61, 2, 1, 0), _i(0xBC, 3, 2), _i(0x74, 3, imm=16), _i(0x54, 2, imm=0xFFFF),
            _i(0x61, 4, 1, 4), _i(0x61, 5, 1, 8)]
ALLOW = [_i(0xB7, 0, imm=1), _i(0x95)]
DENY = [_i(0xB7, 0, imm=0), _i(0x95)]


def test_one_exact_rule_bytes():
    block = [_i(0x55, 2, off=4, imm=2), _i(0x55, 4, off=3, imm=1), _i(0x55, 5, off=2, imm=3)]
    assert compile_rules(["c 1:3 rwm"]) == b"".join(PROLOGUE + block + ALLOW + DENY)


def test_wildcards_and_partial_access_bytes():
    # "b *:* m": no number checks; the access asked for must be within m
    block = [_i(0xBC, 6, 3), _i(0x54, 6, imm=1), _i(0x55, 2, off=3, imm=1), _i(0x5D, 6, 3, off=2)]
    assert compile_rules(["b *:* m"]) == b"".join(PROLOGUE + block + ALLOW + DENY)


def test_allow_all_ends_the_program():
    # nothing may follow an unconditional allow: the verifier rejects unreachable instructions
    assert compile_rules(["a"]) == b"".join(PROLOGUE + ALLOW)
    assert compile_rules(["c 1:3 rwm", "a *:* rwm", "b 8:0 r"]) == compile_rules(["c 1:3 rwm", "a"])


def test_no_rules_denies_everything():
    assert compile_rules([]) == b"".join(PROLOGUE + DENY)


@pytest.mark.parametrize("text, rule", [
    ("c 1:3 rwm", DeviceRule(2, 1, 3, 7)),
    ("b *:* m", DeviceRule(1, None, None, 1)),
    ("c 136:* rw", DeviceRule(2, 136, None, 6)),
    ("a", DeviceRule(None, None, None, 7)),
    ("c 1:3", DeviceRule(2, 1, 3, 7)),  # no access field: all of them, as v1 reads it
])
def test_parse(text, rule):
    assert parse_rule(text) == rule


@pytest.mark.parametrize("text", ["", "x 1:3 rwm", "c 1 rwm", "c 1:3 rwx", "c a:3 r", "c -1:3 r", "c 1:3 rw r",
                                  "c 1:3 r extra"])
def test_bad_rules(text):
    with pytest.raises(DeviceRuleError, match="device rule"):
        parse_rule(text)


def _run(program: bytes, access_type: int, major: int, minor: int) -> int:
    """Interpret the instruction subset compile_rules emits (32-bit context loads, ALU32, JNE, exit)."""
    ctx = {0: access_type, 4: major, 8: minor}
    regs = [0] * 11
    pc = 0
    steps = 0
    while True:
        steps += 1
        assert steps < 10_000
        code, reg_byte, off, imm = struct.unpack_from("<BBhi", program, pc * 8)
        dst, src = reg_byte & 0xF, reg_byte >> 4
        pc += 1
        if code == 0x61:
            assert src == 1
            regs[dst] = ctx[off]
        elif code == 0xBC:
            regs[dst] = regs[src] & 0xFFFFFFFF
        elif code == 0x54:
            regs[dst] = regs[dst] & imm & 0xFFFFFFFF
        elif code == 0x74:
            regs[dst] = (regs[dst] & 0xFFFFFFFF) >> imm
        elif code == 0x55:
            pc += off if regs[dst] != imm else 0
        elif code == 0x5D:
            pc += off if regs[dst] != regs[src] else 0
        elif code == 0xB7:
            regs[dst] = imm
        elif code == 0x95:
            return regs[0]
        else:
            raise AssertionError(f"unexpected opcode {code:#x}")


def _v1_allows(rules: tuple[str, ...], kind: str, major: int, minor: int, access: str) -> bool:
    """What v1's devices.allow means: some rule covers the type, both numbers and every access asked."""
    for rule in rules:
        fields = rule.split() + ["*:*", "rwm"][len(rule.split()) - 1:]
        rmajor, rminor = fields[1].split(":")
        if (fields[0] in ("a", kind) and rmajor in ("*", str(major)) and rminor in ("*", str(minor))
                and set(access) <= set(fields[2])):
            return True
    return False


@pytest.mark.parametrize("rules", [DEFAULT_DEVICE_RULES, ("c 1:3 r", "b 7:* rw"), ("a",), ()])
def test_program_verdicts_match_the_rules(rules):
    program = compile_rules(rules)
    bits = {"m": 1, "r": 2, "w": 4}
    for kind, (major, minor), access in itertools.product(
            "bc", [(1, 3), (1, 11), (7, 0), (7, 9), (136, 4), (10, 200), (5, 2)], ["m", "r", "w", "rw", "rwm"]):
        access_type = {"b": 1, "c": 2}[kind] | sum(bits[a] for a in access) << 16
        expected = _v1_allows(rules, kind, major, minor, access)
        assert _run(program, access_type, major, minor) == int(expected), (rules, kind, major, minor, access)
