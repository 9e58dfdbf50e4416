# SPDX-License-Identifier: MIT
"""Write the hand-made reproducers of tests/fuzz/regress/ (bugs found by
reading the parsers while writing the harnesses; each one crashed, hung or
broke a harness's check before its fix). Usage: craft_regress.py DIR"""
import os
import struct
import sys

out = sys.argv[1]


def put(harness, name, data):
    d = os.path.join(out, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def elf(sections, phdrs=()):
    """64-bit LE ET_DYN. sections: (name, type, flags, addr, data, link,
    entsize); phdrs: (type, offset, vaddr, filesz, memsz)."""
    names = b"\0"
    body = b""
    base = 64 + 56 * len(phdrs)
    shdrs = [b"\0" * 64]
    for name, typ, flags, addr, data, link, entsize in sections:
        off = base + len(body)
        off += -off % 8
        body += b"\0" * (-(base + len(body)) % 8) + data
        shdrs.append(struct.pack("<IIQQQQIIQQ", len(names), typ, flags, addr, off, len(data),
                                 link, 0, 8, entsize))
        names += name.encode() + b"\0"
    off = base + len(body)
    shdrs.append(struct.pack("<IIQQQQIIQQ", len(names), 3, 0, 0, off, len(names) + 10, 0, 0, 1, 0))
    body += names + b".shstrtab\0"
    shoff = base + len(body)
    shoff += -shoff % 8
    body += b"\0" * (-(base + len(body)) % 8)
    eh = b"\x7fELF\x02\x01\x01" + b"\0" * 9 + struct.pack(
        "<HHIQQQIHHHHHH", 3, 62, 1, 0, 64 if phdrs else 0, shoff, 0, 64, 56, len(phdrs), 64,
        len(shdrs), len(shdrs) - 1)
    ph = b"".join(struct.pack("<IIQQQQQQ", t, 5, o, v, v, fs, ms, 8) for t, o, v, fs, ms in phdrs)
    return eh + ph + body + b"".join(shdrs)


SYM = struct.Struct("<IBBHQQ")

# callsite.c got_slot: sh_size / sh_entsize with a .rela.plt whose
# sh_entsize is 0: SIGFPE (division by zero) in callsites__find_text.
dynstr = b"\0pthread_cond_timedwait\0"
dynsym = SYM.pack(0, 0, 0, 0, 0, 0) + SYM.pack(1, 0x12, 0, 0, 0, 0)
rela = struct.pack("<QQq", 0x3000, (1 << 32) | 7, 0)
text = b"\xe8\0\0\0\0" + b"\x90" * 11
put("fuzz_elf", "callsite-rela-entsize-0", elf([
    (".text", 1, 6, 0x1000, text, 0, 0),
    (".dynstr", 3, 2, 0, dynstr, 0, 0),
    (".dynsym", 11, 2, 0, dynsym, 2, 24),
    (".rela.plt", 4, 2, 0, rela, 3, 0),
], phdrs=[(1, 0, 0, 0x4000, 0x4000)]))

# (Compressed tables that claim more than they hold are refused by libelf
# itself: it requires at most 1032x the compressed size. The real bombs,
# which honour that ratio and inflate to 4 GiB, are test_hostile's.)

# stacks.c: lengths BPF wrote from the target's claims, used as is.
GS_CODE = struct.Struct("<QiIIBBHHH128s256s2048s4x")


def code(name_len=4, file_len=8, lt_len=2, kind=1, fkind=1, name=b"work", file=b"/app.py",
         lt=b"\x80\x00"):
    return GS_CODE.pack(1, 10, lt_len, lt_len, kind, fkind, name_len, file_len, 0, name, file, lt)


def stack(depth, frames=3):
    return struct.pack("<II", depth, 0) + b"".join(struct.pack("<Q", 0x1000) for _ in range(frames))


head = bytes([13]) + struct.pack("<I", 0)
# name_len past name[]: read on into file[] (inside the struct: no ASan report)
put("fuzz_stacks", "name-len-past-buffer", head + code(name_len=60000) + stack(1))
# file_len past file[], 4-byte characters: read past the captured struct
put("fuzz_stacks", "file-len-past-buffer", head + code(file_len=65535, fkind=4, file=b"") + stack(1))
# lt_len past linetable[], a 3.6 lnotab read to its end for a far offset
put("fuzz_stacks", "linetable-len-past-buffer",
    bytes([6]) + struct.pack("<I", 0xfffffff0) + code(lt_len=0xffffff) + stack(1))
put("fuzz_stacks", "depth-past-max-frames", head + code() + stack(1000, 64))
# a lone surrogate (a surrogateescape'd file name): no UTF-8 form
put("fuzz_stacks", "surrogate-in-name", head + code(kind=2, name_len=2, name=b"\x80\xdc") + stack(1))


def dbg314(over=None):
    """_Py_DebugOffsets of 3.14 (the unit test's values), fields by byte offset."""
    f = {8: 0x030e0af0, 24: 316616, 40: 808, 48: 225864, 120: 16, 128: 7784, 144: 7800,
         152: 7792, 184: 0, 192: 8, 200: 16, 208: 72, 224: 160, 624: 32, 640: 40}
    f.update(over or {})
    b = bytearray(1024)
    b[:8] = b"xdebugpy"
    for off, v in f.items():
        b[off:off + 8] = struct.pack("<Q", v & (1 << 64) - 1)
    return bytes(b)


# pyoffsets.c validate: interp_gil + 208 wrapped past 2^64 and passed the
# "inside the interpreter" check; the main GIL's offset then wraps too.
g = (1 << 64) - 64
put("fuzz_pyoffsets", "interp-gil-wraps", dbg314({128: g, 144: g + 16, 152: g + 8}))
# an offset of 2^32 + 8: accepted, then cut to 8 in the 32-bit BPF field
put("fuzz_pyoffsets", "code-filename-past-u32", dbg314({320: (1 << 32) + 8}))
put("fuzz_pyoffsets", "interpreters-head-past-runtime", dbg314({40: 1 << 40}))

# waitloop.c loop_head: back-edges counted pairwise (quadratic) over code
# of up to 1 MiB, with ~1 KiB of Capstone detail per instruction: 12000
# jumps back to one target took seconds; now code past 16 KiB is refused
# and the back-edges are sorted, not compared pairwise (3000 of them).
def back_edges(n):
    b = b"\x90" * 4 + b"\xe8\0\0\0\0"           # the wait call at +4
    for i in range(n):
        at = 9 + 5 * i
        b += b"\xe9" + struct.pack("<i", 2 - (at + 5))  # jmp BASE+2
    return struct.pack("<H", 4) + b


put("fuzz_waitloop", "many-back-edges-60k", back_edges(12000))
put("fuzz_waitloop", "many-back-edges-15k", back_edges(3000))
