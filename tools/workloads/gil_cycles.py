"""A fixed number of GIL cycles: os.read(fd, 1) on /dev/zero releases and
takes back the GIL once per call. Usage: gil_cycles.py N. Prints READY."""
import os
import sys


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
    fd = os.open("/dev/zero", os.O_RDONLY)
    print("READY %d" % os.getpid())
    sys.stdout.flush()
    read = os.read
    for _ in range(n):
        read(fd, 1)
    os.close(fd)


if __name__ == "__main__":
    main()
