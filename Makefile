# gilscope: build, test, demo.
#   make            build ./gilscope
#   make demo       install build deps (apt, as root), build, trace the demo workload
#   make test       install deps, build, run unit and end-to-end tests (root)
#   make vmlinux    regenerate vmlinux/vmlinux.h from this kernel's BTF
#   make fuzz       build the libFuzzer harnesses (tests/fuzz/README.md)
#   make bench-live what top -a and serve -a cost gilscope (BENCHMARKS.md)
#   make install    PREFIX=/usr/local DESTDIR=
#   make SAN=1      build .output-san/gilscope with ASan and UBSan (below)
#   V=1             show full commands
#
# SAN=1: gilscope and the unit tests are built with AddressSanitizer
# (LeakSanitizer included) and UndefinedBehaviorSanitizer, any UB report
# fatal. Everything goes to its own output directory, .output-san, so that
# a sanitized object never mixes with a normal one, and the binary is
# .output-san/gilscope (./gilscope is always the normal build; `make
# SAN=1 gilscope` is an alias of the sanitized binary). Only user space is
# sanitized: the BPF objects and skeletons are built by the same rules
# (clang -target bpf, bpftool) into .output-san, without these flags.
#   make SAN=1 unit      the unit tests under the sanitizers
#   make san             the SAN=1 build, those, then a short e2e subset (SAN_E2E_* below)
ifeq ($(SAN),1)
OUTPUT    ?= .output-san
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer \
             -fno-sanitize-recover=undefined
GILSCOPE  := $(OUTPUT)/gilscope
else
OUTPUT    ?= .output
SAN_FLAGS :=
GILSCOPE  := gilscope
endif
CLANG     ?= clang
CC        ?= gcc
BPFTOOL   ?= bpftool
PREFIX    ?= /usr/local
VERSION   := 0.1.0
ARCH      := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')

CFLAGS    ?= -O2 -g
CFLAGS    += -Wall -Wextra -Wno-unused-parameter -std=gnu11 -D_GNU_SOURCE \
             -DGS_VERSION='"$(VERSION)"' -I$(OUTPUT) -Ibpf -iquote user -MMD -MP
# (override: still added when CFLAGS is given on the command line; the
# link lines have CFLAGS too, which links the sanitizers' runtimes)
override CFLAGS += $(SAN_FLAGS)
LDLIBS    += -lbpf -lelf -lz -lmicrohttpd -lncursesw -ltinfo
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Ivmlinux -Ibpf -MMD -MP

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
SKELS     := $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.skel.h,$(BPF_SRCS))
# user/: main.c, and one folder per stage (inspect, trace, model, render).
USER_SRCS := $(wildcard user/*.c user/*/*.c)
USER_OBJS := $(patsubst user/%.c,$(OUTPUT)/user/%.o,$(USER_SRCS))
LIB_OBJS  := $(filter-out $(OUTPUT)/user/main.o,$(USER_OBJS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all clean deps demo test unit e2e vmlinux install bench bench-live bench-floor san san-e2e fuzz fuzz-regress

all: $(GILSCOPE)

$(OUTPUT) $(OUTPUT)/user $(OUTPUT)/tests:
	$(Q)mkdir -p $@

vmlinux/vmlinux.h:
	$(error vmlinux/vmlinux.h is missing: run 'make vmlinux' on a kernel with /sys/kernel/btf/vmlinux)

vmlinux:
	@test -r /sys/kernel/btf/vmlinux || { echo "no /sys/kernel/btf/vmlinux: this kernel has no BTF" >&2; exit 1; }
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/vmlinux.h

$(OUTPUT)/%.bpf.o: bpf/%.bpf.c vmlinux/vmlinux.h | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

# Every user object may include any skeleton: build them first.
$(USER_OBJS): $(SKELS)

# The flame graph's stylesheet and script are plain files, embedded into
# flamegraph.o at build time: xxd -i (Debian's xxd) prints a file's bytes
# as C array elements, wrapped here in "static const unsigned char fg_css[]"
# (fg_js[]). No NUL is added: flamegraph.c writes sizeof() bytes with
# fwrite. Listed here as well as in the .d files, so that a first build
# (make -j) generates them before flamegraph.c compiles.
FG_EMBED := $(OUTPUT)/render/flamegraph_css.h $(OUTPUT)/render/flamegraph_js.h

$(OUTPUT)/render/flamegraph_%.h: user/render/flamegraph.%
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(@D)
	$(Q){ printf '/* Generated from %s by the Makefile: do not edit. */\n' $< && \
	  printf 'static const unsigned char fg_%s[] = {\n' $* && \
	  xxd -i < $< && printf '};\n'; } > $@.tmp && mv $@.tmp $@

$(OUTPUT)/user/render/flamegraph.o: $(FG_EMBED)

$(OUTPUT)/user/%.o: user/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(GILSCOPE): $(USER_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $^ $(LDLIBS) -o $@

ifeq ($(SAN),1)
.PHONY: gilscope
gilscope: $(GILSCOPE)
endif

$(OUTPUT)/tests/%: tests/unit/%.c $(LIB_OBJS) | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $< $(LIB_OBJS) $(LDLIBS) -o $@

# Build dependencies from Debian; installs only what is missing (needs root).
deps:
	@./tools/install-deps.sh

demo: deps
	$(MAKE) gilscope
	./tools/demo.sh

unit: $(UNIT_BINS) fuzz-regress
	@./tools/check-layers.sh
	@python3 tests/unit/check_golden_schema.py
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $(if $(SAN_FLAGS),$(SAN_ENV)) $$t; done

# Fuzzing (tests/fuzz/README.md). One libFuzzer harness per parser of
# outside input, each compiled with the user/ sources it needs (no BPF
# skeleton). `make fuzz` builds them (clang, libclang-rt-14-dev);
# `make fuzz-regress` (part of `make unit`) builds the same harnesses
# around tests/fuzz/driver.c instead of libFuzzer's main and runs each over
# its corpus and its crash reproducers, in seconds.
FUZZ_CC      ?= clang
FUZZ_NAMES   := elf debuginfo procmaps linetable stacks waitloop pyoffsets json
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS  := -g -O1 -fno-omit-frame-pointer -Wall -Wextra -Wno-unused-parameter -std=gnu11 \
                -D_GNU_SOURCE -iquote user -Ibpf -I$(OUTPUT) -iquote tests/fuzz
FUZZ_LDLIBS  := -lelf -lz -ldl
FUZZ_SRCS_elf       := user/inspect/elf.c user/inspect/callsite.c user/inspect/pyflavor.c user/common.c
FUZZ_SRCS_debuginfo := user/inspect/debuginfo.c user/inspect/rootfs.c user/inspect/elf.c user/common.c
FUZZ_SRCS_procmaps  := user/inspect/procmaps.c user/inspect/pyflavor.c user/inspect/elf.c user/common.c
FUZZ_SRCS_linetable := user/model/linetable.c
FUZZ_SRCS_stacks    := user/model/stacks.c user/model/linetable.c user/common.c
FUZZ_SRCS_waitloop  := user/inspect/waitloop.c user/inspect/callsite.c user/inspect/elf.c user/common.c
FUZZ_SRCS_pyoffsets := user/inspect/pyoffsets.c
FUZZ_SRCS_json      := user/render/json.c user/common.c
FUZZ_BINS    := $(patsubst %,$(OUTPUT)/fuzz/fuzz_%,$(FUZZ_NAMES))
FUZZ_REGRESS := $(patsubst %,$(OUTPUT)/fuzz-regress/fuzz_%,$(FUZZ_NAMES))
# The regress build keeps ASan/UBSan when clang's runtime is installed
# (libclang-rt-14-dev), and runs plain otherwise.
FUZZ_HAVE_SAN = $(shell printf 'int main(void){return 0;}' | \
	$(FUZZ_CC) $(FUZZ_SAN) -x c - -o /dev/null 2>/dev/null && echo 1)

.SECONDEXPANSION:
$(OUTPUT)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $$(FUZZ_SRCS_$$*)
	$(call msg,FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $(FUZZ_SAN) $< $(FUZZ_SRCS_$*) $(FUZZ_LDLIBS) -o $@

$(OUTPUT)/fuzz-regress/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/driver.c tests/fuzz/fuzz.h $$(FUZZ_SRCS_$$*)
	$(call msg,FUZZ-RUN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) $(if $(FUZZ_HAVE_SAN),$(FUZZ_SAN)) $< tests/fuzz/driver.c \
		$(FUZZ_SRCS_$*) $(FUZZ_LDLIBS) -o $@

fuzz: $(FUZZ_BINS)

fuzz-regress: $(FUZZ_REGRESS)
	@set -e; for n in $(FUZZ_NAMES); do \
		ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		$(OUTPUT)/fuzz-regress/fuzz_$$n tests/fuzz/corpus/fuzz_$$n tests/fuzz/regress/fuzz_$$n; done

# The e2e tests' embedding host (tests/e2e/embed_host.c): dlopen()s
# libpython3.X.so.1.0 at run time, so it links only libdl/libc, on the
# host's glibc (the Debian roots it runs in have newer ones).
EMBED_HOST := $(OUTPUT)/tests/embed_host

$(EMBED_HOST): tests/e2e/embed_host.c | $(OUTPUT)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) -O2 -g -Wall -Wextra -std=gnu11 $< -ldl -o $@

# With SAN=1, every case runs the sanitized binary under SAN_ENV.
e2e: $(GILSCOPE) $(EMBED_HOST)
	$(if $(SAN_FLAGS),$(SAN_ENV)) GILSCOPE=$(abspath $(GILSCOPE)) python3 tests/e2e/run.py

# The sanitizers' run time options. Any report makes gilscope fail (ASan
# and LSan abort, UBSan exits: -fno-sanitize-recover), and GILSCOPE_SAN=1
# makes the e2e harness fail a case whose gilscope printed one, whatever
# the exit status the case expected (tests/e2e/gs.py: sanitizer_report, Ctx.sanitizer_check).
SAN_ENV := ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
           UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 GILSCOPE_SAN=1

# The sanitized e2e subset: one case or two per path gilscope has, on
# one pyenv interpreter: attach (single_cpu attach: attached while a
# thread holds the GIL; exit_soon: the target exits inside the window),
# launch (args+exit_code), Python stacks (hog/waiter, attached; launch+exit:
# symbolized after the launched target is gone), --children (a launched
# multiprocessing pool, forked workers), a container (hostile symlink: the
# namespaces and the confined /proc/PID/root opens, under strace, so
# without LSan); and one Debian configuration (a container, Debian's
# stripped non-PIE python3.13 with its separate debug file: the
# debug-file and container paths with LSan on), which runs the cases of
# its set that match (single_cpu attach, launch args+exit_code, stacks
# hog/waiter; its root comes from tools/test-roots.sh: make test's roots
# step; SAN_E2E_DEBIAN= leaves it out). These cases check no timing a
# busy machine upsets, but for the children's parallelism, which under
# GILSCOPE_SAN=1 is shown and not counted (gs.Ctx.check's load=True).
# -k matches a substring of a case's name.
SAN_E2E_PY     ?= 3.12
SAN_E2E_DEBIAN ?= debian-3.13-container-exe-dbg
SAN_E2E_CASES  := -k 'single_cpu attach' -k 'exit_soon' -k 'launch args+exit_code' \
                  -k 'stacks hog/waiter' -k 'stacks launch+exit' \
                  -k 'children pool fork launch' -k 'container hostile symlink' \
                  -k 'top: plain lines' -k 'live: record -a' -k 'light guard'

# The san step of make test: the SAN=1 build, the unit tests and the e2e
# subset under the sanitizers.
san:
	$(MAKE) SAN=1 gilscope
	$(MAKE) SAN=1 unit
	$(MAKE) SAN=1 san-e2e

san-e2e: $(GILSCOPE)
	$(if $(SAN_FLAGS),,$(error san-e2e runs the sanitized binary: make SAN=1 san-e2e))
	$(SAN_ENV) GILSCOPE=$(abspath $(GILSCOPE)) python3 tests/e2e/run.py \
		--only $(SAN_E2E_PY) $(if $(SAN_E2E_DEBIAN),--only $(SAN_E2E_DEBIAN)) $(SAN_E2E_CASES)

# The benchmark's floor tool is built too, so that it cannot rot unseen.
# Each part's wall time is printed as it ends, and all of them at the end
# (or at the first failure). roots: the Debian roots of the e2e cases on
# Debian's own CPython 3.13-3.15 (tools/test-roots.sh; cached after the
# first build).
# (make -n runs this recipe, as it names $(MAKE): then it only prints.)
DRYRUN := $(findstring n,$(firstword -$(MAKEFLAGS)))
test:
	@times=""; \
	step() { name=$$1; shift; t0=$$(date +%s); rc=0; \
		if [ -n "$(DRYRUN)" ]; then echo "$$*"; return 0; fi; \
		echo "== make test: $$name"; "$$@" || rc=$$?; \
		dt=$$(( $$(date +%s) - t0 )); times="$$times $$name $$(( dt / 60 ))m$$(( dt % 60 ))s"; \
		echo "== make test: $$name took $$(( dt / 60 ))m$$(( dt % 60 ))s$$( [ $$rc = 0 ] || echo " and FAILED (rc=$$rc)")"; \
		if [ $$rc != 0 ]; then echo "== make test: times:$$times"; exit $$rc; fi; }; \
	step deps ./tools/install-deps.sh --test; \
	step build $(MAKE) gilscope $(UNIT_BINS) $(FUZZ_REGRESS) bench-floor $(EMBED_HOST); \
	step roots ./tools/test-roots.sh; \
	step unit $(MAKE) unit; \
	step san $(MAKE) san; \
	step e2e $(MAKE) e2e; \
	[ -n "$(DRYRUN)" ] || echo "== make test: times:$$times"

# The benchmark's trap floor: empty uprobes at gilscope's probe sites
# (tools/bench/floor.c). bench.py finds it through GILSCOPE_BENCH_FLOOR
# (default .output/bench/floor, built with `make bench-floor` when missing).
FLOOR     := $(OUTPUT)/bench/floor

$(OUTPUT)/bench:
	$(Q)mkdir -p $@

$(OUTPUT)/bench/floor.bpf.o: tools/bench/floor.bpf.c vmlinux/vmlinux.h | $(OUTPUT)/bench
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(FLOOR): tools/bench/floor.c $(OUTPUT)/bench/floor.skel.h
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -I$(OUTPUT)/bench $< $(LDLIBS) -o $@

# What one uprobe hit costs, on an emulated int3 and on a 5-byte nop
# (tools/bench/trapprice.c, run by bench.py at start).
TRAPPRICE := $(OUTPUT)/bench/trapprice

$(TRAPPRICE): tools/bench/trapprice.c $(OUTPUT)/bench/floor.skel.h
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -I$(OUTPUT)/bench $< $(LDLIBS) -o $@

bench-floor: $(FLOOR) $(TRAPPRICE)

# The raw results stay in $(OUTPUT)/bench/last.pkl: the report can be
# written again from them (tools/bench/bench.py --report FILE).
bench: gilscope $(FLOOR) $(TRAPPRICE)
	GILSCOPE_BENCH_FLOOR=$(abspath $(FLOOR)) ./tools/bench/run.sh --dump $(OUTPUT)/bench/last.pkl

# What the live views (top -a, serve -a) cost gilscope itself: 63 processes
# of 100 threads (BENCHMARKS.md, "Live views").
bench-live: gilscope
	python3 tools/bench/live_cost.py

-include $(wildcard $(OUTPUT)/bench/*.d)

install: gilscope
	$(if $(SAN_FLAGS),$(error make install installs the normal build: run it without SAN=1))
	install -D -m 0755 gilscope $(DESTDIR)$(PREFIX)/bin/gilscope

clean:
	rm -rf $(OUTPUT) .output .output-san gilscope

-include $(wildcard $(OUTPUT)/*.d $(OUTPUT)/user/*.d $(OUTPUT)/user/*/*.d)
