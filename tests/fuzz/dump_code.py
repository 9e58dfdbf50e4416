# SPDX-License-Identifier: MIT
"""Code objects of SOURCE as the interpreter running this compiles them,
one JSON object a line: minor, firstlineno, name (co_qualname on 3.11+),
filename, the raw line table in hex and the bytecode's length. Run by
tests/fuzz/seeds.sh under every interpreter (3.6+) to seed the line-table
and frame-name harnesses. Never runs SOURCE."""
import json
import sys


def walk(co):
    yield co
    for c in co.co_consts:
        if hasattr(c, "co_code"):
            for x in walk(c):
                yield x


src = open(sys.argv[1], encoding="utf-8").read()
top = compile(src, sys.argv[2] if len(sys.argv) > 2 else sys.argv[1], "exec")
for co in walk(top):
    table = co.co_linetable if sys.version_info >= (3, 10) else co.co_lnotab
    print(json.dumps({
        "minor": sys.version_info[1],
        "first": co.co_firstlineno,
        "name": getattr(co, "co_qualname", co.co_name),
        "file": co.co_filename,
        "table": table.hex() if hasattr(table, "hex") else "".join("%02x" % b for b in table),
        "ncode": len(co.co_code),
    }))
