# SPDX-License-Identifier: MIT
"""Pack the JSON lines of dump_code.py (stdin) into seed inputs of the
line-table and frame-name harnesses (formats: tests/fuzz/fuzz_linetable.c
and fuzz_stacks.c). Usage: pack_seeds.py CORPUS_DIR TAG < lines"""
import json
import os
import struct
import sys

out, tag = sys.argv[1], sys.argv[2]
os.makedirs(os.path.join(out, "fuzz_linetable"), exist_ok=True)
os.makedirs(os.path.join(out, "fuzz_stacks"), exist_ok=True)


def pyunicode(s):
    """A str as CPython stores it: (kind, raw bytes)."""
    m = max(map(ord, s)) if s else 0
    if m < 0x100:
        return 1, s.encode("latin-1")
    if m < 0x10000:
        return 2, s.encode("utf-16-le", "surrogatepass")
    return 4, s.encode("utf-32-le", "surrogatepass")


for k, line in enumerate(sys.stdin):
    co = json.loads(line)
    table = bytes.fromhex(co["table"])
    minor, first = co["minor"], co["first"]
    off = min(co["ncode"] // 2 & ~1, 0xfffffffe)
    name = "%s-%02d" % (tag, k)
    with open(os.path.join(out, "fuzz_linetable", name), "wb") as f:
        f.write(bytes([minor]) + struct.pack("<iI", first, off) + table)
    nk, nraw = pyunicode(co["name"])
    fk, fraw = pyunicode(co["file"])
    nraw, fraw, lt = nraw[:128], fraw[:256], table[:2048]
    code = struct.pack("<QiIIBBHHH128s256s2048s4x", 0x1234 + k, first, len(lt), len(table),
                       nk, fk, len(nraw), len(fraw), 0, nraw, fraw, lt)
    frames = [(o << 48) | 0x1000 for o in (0, off, co["ncode"])]
    stack = struct.pack("<II", len(frames), 0) + b"".join(struct.pack("<Q", x) for x in frames)
    with open(os.path.join(out, "fuzz_stacks", name), "wb") as f:
        f.write(bytes([minor]) + struct.pack("<I", off) + code + stack)
