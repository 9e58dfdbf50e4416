#!/bin/sh
# SPDX-License-Identifier: MIT
# (Re)generate the seed corpora of tests/fuzz/corpus/ from the interpreters
# on this machine: every pyenv version, Debian's 3.11 and the Debian roots'
# 3.13-3.15 (tools/test-roots.sh). Run as root from the repository root;
# the committed corpora are these seeds after `-merge=1` minimisation
# (tests/fuzz/README.md). Needs gcc, binutils, libelf-dev.
set -e
C=tests/fuzz/corpus
T=$(mktemp -d /tmp/gs-seeds.XXXXXX)
trap 'rm -rf "$T"' EXIT
ROOTS=${GILSCOPE_ROOTS:-/var/cache/gilscope-tests}
PYENV=${PYENV_ROOT:-/root/.pyenv}/versions
for h in elf debuginfo procmaps linetable stacks waitloop pyoffsets json; do
	mkdir -p "$C/fuzz_$h"
done

gcc -O1 -g -std=gnu11 -D_GNU_SOURCE -iquote user -Ibpf tests/fuzz/seeds.c \
	user/inspect/elf.c user/inspect/callsite.c user/inspect/debuginfo.c \
	user/inspect/rootfs.c user/common.c -lelf -lz -o "$T/seeds"

# --- line tables and frame names: every interpreter compiles the sample
for py in "$PYENV"/3.*/bin/python3.[0-9]* /usr/bin/python3.11; do
	case $py in *-config|*m|*.py) continue ;; esac
	[ -x "$py" ] || continue
	tag=$(basename "$(dirname "$(dirname "$py")")")-$(basename "$py")
	"$py" tests/fuzz/dump_code.py tests/fuzz/sample_code.py /srv/app/sample.py \
		| python3 tests/fuzz/pack_seeds.py "$C" "$tag"
done
for r in trixie:3.13 sid:3.14 sid:3.15; do
	root=$ROOTS/${r%%:*} v=${r#*:}
	[ -x "$root/usr/bin/python$v" ] || continue
	cp tests/fuzz/dump_code.py tests/fuzz/sample_code.py "$root/tmp/"
	chroot "$root" "/usr/bin/python$v" /tmp/dump_code.py /tmp/sample_code.py /srv/app/sample.py \
		| python3 tests/fuzz/pack_seeds.py "$C" "debian-$v"
	rm -f "$root/tmp/dump_code.py" "$root/tmp/sample_code.py"
done

# --- take_gil bodies (waitloop) and _PyRuntime's first KiB (pyoffsets)
for lib in "$PYENV"/3.*/lib/libpython3.*.so.1.0; do
	v=$(basename "$lib" | sed 's/libpython\(3\.[0-9]*\).*/\1/')
	"$T/seeds" takegil "" "$lib" "$C/fuzz_waitloop/pyenv-$v" || true
	"$T/seeds" runtime "" "$lib" "$C/fuzz_pyoffsets/pyenv-$v" || true
done
"$T/seeds" takegil "" /usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0 "$C/fuzz_waitloop/debian-3.11" || true
for r in trixie:3.13 sid:3.14 sid:3.15; do
	root=$ROOTS/${r%%:*} v=${r#*:}
	for l in "libpython$v.so.1.0" "libpython${v}d.so.1.0"; do
		lib=/usr/lib/x86_64-linux-gnu/$l
		[ -e "$root$lib" ] || continue
		"$T/seeds" takegil "$root" "$lib" "$C/fuzz_waitloop/debian-$l" || true
		"$T/seeds" runtime "$root" "$lib" "$C/fuzz_pyoffsets/debian-$l" || true
	done
done

# --- small ELF files: the unit tests' fixture, built the ways gilscope
# meets binaries (plain, stripped with a debuglink, its debug file with
# compressed sections), and the pyenv launchers (a few KiB each)
gcc -O2 -g -o "$T/fixture" tests/unit/fixtures/elf_fixture.c
# (the link names prog.debug: the debuginfo harness plants its input there)
objcopy --only-keep-debug --compress-debug-sections=zlib-gabi "$T/fixture" "$T/prog.debug"
objcopy --strip-all --add-gnu-debuglink="$T/prog.debug" "$T/fixture" "$T/fixture.stripped"
mv "$T/prog.debug" "$T/fixture.debug"
gcc -O2 -no-pie -o "$T/fixture.exec" tests/unit/fixtures/elf_fixture.c
for f in fixture fixture.debug fixture.stripped fixture.exec; do
	cp "$T/$f" "$C/fuzz_elf/$f"
	cp "$T/$f" "$C/fuzz_debuginfo/$f"
done
for v in 3.8.18 3.13.0; do
	[ -x "$PYENV/$v/bin/python${v%.*}" ] && cp "$PYENV/$v/bin/python${v%.*}" "$C/fuzz_elf/python${v%.*}"
done

# --- /proc/PID/maps: this shell's, a Python's with libpython mapped, and
# the shapes the kernel prints (deleted files, spaces, anonymous padding)
cat /proc/self/maps > "$C/fuzz_procmaps/self"
"$PYENV/3.12.1/bin/python3.12" -c 'print(open("/proc/self/maps").read(), end="")' \
	> "$C/fuzz_procmaps/python3.12" 2>/dev/null || true
printf '%s\n' \
	'00400000-00401000 r-xp 00000000 fd:01 1234                       /srv/my app/python3 (deleted)' \
	'7f0000000000-7f0000021000 rw-p 00000000 00:00 0 ' \
	'7ffd1c5e0000-7ffd1c601000 rw-p 00000000 00:00 0                          [stack]' \
	'ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]' \
	> "$C/fuzz_procmaps/shapes"

# --- JSON strings: what targets name things
printf 'MainThread' > "$C/fuzz_json/thread"
printf '/usr/lib/x86_64-linux-gnu/libpython3.13.so.1.0 (deleted)' > "$C/fuzz_json/path"
printf 'caf\303\251 \344\270\255 "q" \\ \t\n\001\177\377' > "$C/fuzz_json/mixed"
echo "seeds: done"
