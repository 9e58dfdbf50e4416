"""Records its arguments and exits with a chosen status (launch-mode test).

usage: ARGS_OUT=FILE [EXIT_CODE=N] [EXIT_SIGNAL=SIG] args_echo.py [ARGS...]

Writes to ARGS_OUT a JSON object {"argv": [...], "argv_hex": [...]}:
sys.argv[1:] decoded as UTF-8 (surrogateescape, so any bytes survive) and
the exact bytes of each argument in hex. Then exits with EXIT_CODE
(default 0), or, if EXIT_SIGNAL is set, kills itself with that signal.
Prints no READY line: it has no threads to wait for.
"""
import binascii
import json
import os
import signal
import sys


def arg_bytes(a):
    if isinstance(a, bytes):  # Python 2
        return a
    return os.fsencode(a)


def main():
    out = os.environ.get("ARGS_OUT")
    if not out:
        sys.stderr.write("args_echo.py: set ARGS_OUT\n")
        sys.exit(2)
    raw = [arg_bytes(a) for a in sys.argv[1:]]
    rec = {
        "argv": [b.decode("utf-8", "surrogateescape") for b in raw],
        "argv_hex": [binascii.hexlify(b).decode("ascii") for b in raw],
    }
    with open(out, "w") as f:
        json.dump(rec, f)
    sig = os.environ.get("EXIT_SIGNAL")
    if sig:
        sys.stdout.flush()
        os.kill(os.getpid(), int(sig))
        signal.pause()
    sys.exit(int(os.environ.get("EXIT_CODE", "0")))


if __name__ == "__main__":
    main()
