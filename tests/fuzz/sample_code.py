# SPDX-License-Identifier: MIT
# Compiled (never run) by tests/fuzz/dump_code.py: loops, a long jump in
# line numbers, nested functions, non-ASCII names of every PyUnicode kind.
import os


def work(n):
    total = 0
    for i in range(n):
        if i % 3:
            total += i
        else:
            total -= 1
    return total


class Pool:
    def run(self, jobs):
        return [self.step(j) for j in jobs]

    def step(self, j):
        try:
            return os.getpid() + j
        except OSError:
            return -1


def café(x):
    return x * 2


def 函数(x):
    return lambda y: x + y


def 𐐀(x):
    while x:
        x -= 1
    return x
































def far_below():
    return 1
