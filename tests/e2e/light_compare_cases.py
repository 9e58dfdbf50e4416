"""--light against exact mode on every workload of light_cases.WORKLOADS
but the one make test runs (light_cases.CORE): on demand, on a quiet
machine (`python3 tests/e2e/run.py -k 'light vs exact'`), on pyenv 3.7 and
3.13 and Debian's 3.13-3.15 (I/O and zlib threads, debian.LIGHT_CASES).
The checks are light_cases.compare's."""
from light_cases import CORE, WORKLOADS, compare_case

VERSIONS = ("3.7", "3.13")

CASES = [compare_case(name, script, args, cont, VERSIONS)
         for name, script, args, cont in WORKLOADS if name != CORE]
