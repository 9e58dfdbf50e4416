"""--light against exact mode on the same process (light_cases.compare):
on demand, on a quiet machine (`python3 tests/e2e/run.py -k 'light vs
exact'`), every timing workload of light_cases.WORKLOADS on pyenv 3.7 and
3.13, and CPU-bound and I/O threads on Debian's 3.13-3.15
(debian.LIGHT_CASES)."""
from light_cases import VERSIONS, WORKLOADS, compare_case

CASES = [compare_case(name, script, args, cont, VERSIONS)
         for name, script, args, cont in WORKLOADS]
