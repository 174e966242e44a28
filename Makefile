# rotsec — see README.md. `make help` lists the targets.
#
# Two builds of everything live side by side under $(O):
#   $(O)/rel   what `make install` ships: -O2, fortified, no test hooks
#   $(O)/asan  what the tests run: ASan+UBSan, fault points (-DROTSEC_FAULTS)
# The system tests that load modules into real programs (getent, su, sshd) use rel,
# under valgrind where it matters; everything else uses asan.

O        ?= build
# One spelling of the build directory, whatever the caller wrote (O=build, O=./build,
# O=/abs/build): objects, their dependency files and the rules that read them must name
# the same targets, or a header change would not rebuild what a differently spelled run
# compiled.
override O := $(abspath $(O))
Q        ?= @
CC       ?= gcc
MULTIARCH := $(shell $(CC) -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
PREFIX   ?= /usr
DESTDIR  ?=
SBINDIR  := $(PREFIX)/sbin
LIBDIR   := $(PREFIX)/lib/$(MULTIARCH)
PAMDIR   := $(LIBDIR)/security
MANDIR   := $(PREFIX)/share/man
DOCDIR   := $(PREFIX)/share/doc/rotsec
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
UNITDIR  ?= $(if $(filter /usr,$(PREFIX)),/lib/systemd/system,$(PREFIX)/lib/systemd/system)
CDB_PIC  ?= /usr/lib/$(MULTIARCH)/libcdb_pic.a

WARN   := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wmissing-prototypes \
          -Wstrict-prototypes -Wpointer-arith -Wvla \
          -Wno-format-truncation
# No -I here: each folder gets only the include paths it needs (INC_* below), so that
# common/ and the modules cannot include an engine header (tests/sh/t-layout.sh).
CBASE  := -std=gnu11 -g -fPIC -fvisibility=hidden -pthread $(WARN)
CREL   := $(CBASE) -O2 -D_FORTIFY_SOURCE=2 -fstack-protector-strong
CASAN  := $(CBASE) -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
          -fno-sanitize-recover=all -DROTSEC_FAULTS -DROTSEC_TESTING
LDREL  := -Wl,-z,relro,-z,now -pthread
LDASAN := -fsanitize=address,undefined -pthread

COMMON_SRC := $(wildcard common/*.c)
# The NSS module is loaded into every process: libc and tinycdb only.
NSS_COMMON := common/store_read.c common/record.c common/hashes.c common/safefile.c \
              common/trust.c common/why.c common/dirscan.c common/names.c common/fault.c
NSS_SRC    := $(wildcard nss_rotsec/*.c)
PAM_SRC    := $(wildcard pam_rotsec/*.c)
ENGINE_SRC := $(wildcard engine/*.c)
# rotsecd/ minus its main: the scheduler, which the unit tests link too.
SCHED_SRC  := $(filter-out rotsecd/rotsecd.c,$(wildcard rotsecd/*.c))
CTL_SRC    := $(wildcard rotsecctl/*.c)
# Two tiers of cmocka tests: unit/ tests functions of common/, engine/ and rotsecd/ linked
# in; module/ tests the PAM and NSS modules as their callers do, dlopened from the build.
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
MODULE_SRC := $(wildcard tests/module/test_*.c)
# Every file of tests/tools is a program but failinj.c, a shared object (see REL_TOOLS).
TOOL_SRC   := $(filter-out tests/tools/failinj.c,$(wildcard tests/tools/*.c))

# libcurl and jansson are the fleet's etcd client (engine/etcd*.c): the engine and the two
# programs only; tests/sh/t-fleet-link.sh checks that no module links them.
LIBS_ENGINE := -lconfig -lsodium $(CDB_PIC) -lm -lcurl -ljansson
# The PAM module verifies and never generates: no alphabets, so no libm (common/alphabet.c).
LIBS_PAM    := -lpam -lsodium $(CDB_PIC)
# libpam dlopens the module at every pam_start and dlcloses it at pam_end. -z nodelete
# keeps it, libsodium and its store mapping loaded from the first login to the end of the
# process, so that a program authenticating many clients loads them once, not per login
# (pam_rotsec/store_cache.c says why keeping them is safe).
LD_PAM_MOD  := -Wl,-z,nodelete

obj = $(patsubst %.c,$(O)/$(1)/obj/%.o,$(2))

# Include paths per folder: common/ knows nothing above it; a module sees common/ and its
# own folder; the engine sees common/; the programs see the engine. Tests see everything.
INC_common     := -Icommon
INC_pam_rotsec := -Icommon -Ipam_rotsec
INC_nss_rotsec := -Icommon -Inss_rotsec
INC_engine     := -Icommon -Iengine
INC_rotsecd    := -Icommon -Iengine -Irotsecd
INC_rotsecctl  := -Icommon -Iengine -Irotsecctl
INC_tests      := -Icommon -Iengine -Irotsecd -Ipam_rotsec -Inss_rotsec
INC_bench      := -Icommon
# The folder of a source file (its first path component) names its include paths.
inc_of = $(INC_$(firstword $(subst /, ,$(1))))

.PHONY: all check demo bench install uninstall deps deps-bench format format-check lint clean help \
        unit asan rel soak fuzz fuzz-build deb deb-check deps-deb set-version

all: rel

# $(1) = variant (rel|asan), $(2) = compile flags, $(3) = link flags
define variant
$(O)/$(1)/obj/%.o: %.c
	@mkdir -p $$(@D)
	@echo "  CC      $$@"
	$(Q)$$(CC) $(2) $$(call inc_of,$$<) -MMD -MP -c -o $$@ $$<

$(O)/$(1)/librotsec.a: $(call obj,$(1),$(COMMON_SRC))
	rm -f $$@ && ar rcs $$@ $$^

$(O)/$(1)/librotsec-engine.a: $(call obj,$(1),$(ENGINE_SRC))
	rm -f $$@ && ar rcs $$@ $$^

$(O)/$(1)/librotsec-scheduler.a: $(call obj,$(1),$(SCHED_SRC))
	rm -f $$@ && ar rcs $$@ $$^

$(O)/$(1)/rotsecctl: $(call obj,$(1),$(CTL_SRC)) $(O)/$(1)/librotsec-engine.a $(O)/$(1)/librotsec.a
	$$(CC) $(3) -o $$@ $$^ $(LIBS_ENGINE)

$(O)/$(1)/rotsecd: $(call obj,$(1),rotsecd/rotsecd.c) $(O)/$(1)/librotsec-scheduler.a \
		$(O)/$(1)/librotsec-engine.a $(O)/$(1)/librotsec.a
	$$(CC) $(3) -o $$@ $$^ $(LIBS_ENGINE)

$(O)/$(1)/pam_rotsec.so: $(call obj,$(1),$(PAM_SRC)) $(O)/$(1)/librotsec.a pam_rotsec/pam_rotsec.map
	$$(CC) $(3) -shared -Wl,-z,defs $(LD_PAM_MOD) -Wl,--version-script=pam_rotsec/pam_rotsec.map \
		-o $$@ $(call obj,$(1),$(PAM_SRC)) $(O)/$(1)/librotsec.a $(LIBS_PAM)

$(O)/$(1)/libnss_rotsec.so.2: $(call obj,$(1),$(NSS_SRC) $(NSS_COMMON)) nss_rotsec/nss_rotsec.map
	$$(CC) $(3) -shared -Wl,-z,defs -Wl,-soname,libnss_rotsec.so.2 \
		-Wl,--version-script=nss_rotsec/nss_rotsec.map \
		-o $$@ $(call obj,$(1),$(NSS_SRC) $(NSS_COMMON)) $(CDB_PIC)

$(O)/$(1)/tests/unit/test_%: $(O)/$(1)/obj/tests/unit/test_%.o $(O)/$(1)/librotsec-scheduler.a \
		$(O)/$(1)/librotsec-engine.a $(O)/$(1)/librotsec.a
	@mkdir -p $$(@D)
	$$(CC) $(3) $$(UNIT_LDFLAGS) -o $$@ $$^ -lcmocka $(LIBS_ENGINE) -lpam

# The module tests link common/ for their store fixtures; the module itself is dlopened.
$(O)/$(1)/tests/module/test_%: $(O)/$(1)/obj/tests/module/test_%.o $(O)/$(1)/librotsec-scheduler.a \
		$(O)/$(1)/librotsec-engine.a $(O)/$(1)/librotsec.a
	@mkdir -p $$(@D)
	$$(CC) $(3) $$(UNIT_LDFLAGS) -o $$@ $$^ -lcmocka $(LIBS_ENGINE) -lpam

$(O)/$(1)/tests/tools/%: $(O)/$(1)/obj/tests/tools/%.o $(O)/$(1)/librotsec.a
	@mkdir -p $$(@D)
	$$(CC) $(3) -o $$@ $$^ $(LIBS_PAM) -lpamtest

# The fleet test tools drive the engine's publishing (the shorter stem wins over the rule
# above).
$(O)/$(1)/tests/tools/fleet_%: $(O)/$(1)/obj/tests/tools/fleet_%.o \
		$(O)/$(1)/librotsec-engine.a $(O)/$(1)/librotsec.a
	@mkdir -p $$(@D)
	$$(CC) $(3) -o $$@ $$^ $(LIBS_ENGINE)
endef

$(eval $(call variant,rel,$(CREL),$(LDREL)))
$(eval $(call variant,asan,$(CASAN),$(LDASAN)))

# test_pam captures what pam_rotsec logs by defining pam_syslog/pam_vsyslog itself, and
# counts its hash computations and name resolutions by defining crypto_generichash,
# crypto_pwhash and getpwnam_r; the module binds to them only if the program exports them.
$(O)/rel/tests/module/test_pam $(O)/asan/tests/module/test_pam: UNIT_LDFLAGS = \
	-Wl,--export-dynamic-symbol=pam_syslog,--export-dynamic-symbol=pam_vsyslog \
	-Wl,--export-dynamic-symbol=getpwnam_r,--export-dynamic-symbol=crypto_generichash \
	-Wl,--export-dynamic-symbol=crypto_pwhash

# test_buf makes allocations fail and looks at blocks before they are freed: buf.c's calls
# to malloc, realloc and free go to the test's own wrappers.
$(O)/asan/tests/unit/test_buf: UNIT_LDFLAGS = -Wl,--wrap=malloc,--wrap=realloc,--wrap=free

PROGS   = rotsecctl $(if $(wildcard rotsecd/rotsecd.c),rotsecd)
MODULES = $(if $(PAM_SRC),pam_rotsec.so) $(if $(NSS_SRC),libnss_rotsec.so.2)
CMOCKA_TESTS = $(patsubst tests/%.c,%,$(UNIT_SRC) $(MODULE_SRC))
MODULE_TESTS = $(patsubst tests/%.c,%,$(MODULE_SRC))
TOOLS   = $(patsubst tests/tools/%.c,%,$(TOOL_SRC))

rel:  $(addprefix $(O)/rel/,$(PROGS) $(MODULES))
asan: $(addprefix $(O)/asan/,$(PROGS) $(MODULES) $(addprefix tests/,$(CMOCKA_TESTS)) \
        $(addprefix tests/tools/,$(TOOLS)))

# Test tools that run under pam_wrapper: it loads libpam with RTLD_DEEPBIND, which the
# ASan runtime refuses, so they are built without sanitizers. pam_consumer is built both
# ways: the soak and the libfaketime tests run it with the release module.
REL_TOOLS = $(O)/rel/tests/tools/pamtest_rotsec $(O)/rel/tests/tools/pam_consumer

# Failure injection and valgrind (t-failinj.sh, t-valgrind.sh) interpose malloc as the
# ASan runtime does, so what they run is built without sanitizers too: failinj.so, the
# shim preloaded into the release programs (not fortified: it defines open and read
# itself), the drivers that load the release modules, and the module tests.
REL_TOOLS += $(O)/rel/tests/failinj.so $(O)/rel/tests/tools/pam_logins \
             $(O)/rel/tests/tools/nss_calls $(addprefix $(O)/rel/tests/,$(MODULE_TESTS))

$(O)/rel/tests/failinj.so: tests/tools/failinj.c
	@mkdir -p $(@D)
	$(CC) $(CBASE) -O2 -shared -o $@ $< -ldl

# ---- Fuzzing ------------------------------------------------------------------------------
# libFuzzer targets, one per tests/fuzz/fuzz_NAME.c, built into $(O)/fuzz/ with clang
# whatever CC is (gcc has no libFuzzer). Everything they reach is compiled again with
# -fsanitize=fuzzer-no-link so that libFuzzer sees its coverage, under ASan+UBSan; the PAM
# and NSS modules become instrumented shared objects that fuzz_pam and fuzz_nss load the
# way libpam and glibc do.
#
#   make fuzz                  every target for FUZZ_SECONDS (600) each, one after another,
#                              on a copy of its seed corpus in $(O)/fuzz/corpus/NAME;
#                              a crash is saved in $(O)/fuzz/crash/NAME/ and the run fails
#   make fuzz FUZZ="store pam" only those targets
#
# `make check` builds them (fuzz-build), and tests/sh/t-fuzz.sh runs each for a few
# seconds and replays tests/fuzz/regress/NAME/, the inputs of crashes found and fixed.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 600
FUZZ_NAMES   := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ         ?= $(FUZZ_NAMES)
# -Wno-format-truncation switches off a gcc-only warning that clang does not know: drop it
# rather than add -Wno-unknown-warning-option, which would hide real typos in WARN.
CFUZZ  := -std=gnu11 -g -O1 -fno-omit-frame-pointer -fPIC -fvisibility=hidden \
          -pthread $(filter-out -Wno-format-truncation,$(WARN)) \
          -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
LDFUZZ := -fsanitize=fuzzer,address,undefined -pthread

$(O)/fuzz/obj/%.o: %.c
	@mkdir -p $(@D)
	@echo "  FUZZCC  $@"
	$(Q)$(FUZZ_CC) $(CFUZZ) $(call inc_of,$<) $(FUZZ_EXTRA) -MMD -MP -c -o $@ $<

$(O)/fuzz/librotsec.a: $(call obj,fuzz,$(COMMON_SRC))
	rm -f $@ && ar rcs $@ $^

$(O)/fuzz/librotsec-engine.a: $(call obj,fuzz,$(ENGINE_SRC))
	rm -f $@ && ar rcs $@ $^

# The modules, as in the variant rules but without -z defs: the sanitizer runtime they
# call into is linked into the fuzzer executable that loads them, not into them.
$(O)/fuzz/pam_rotsec.so: $(call obj,fuzz,$(PAM_SRC)) $(O)/fuzz/librotsec.a pam_rotsec/pam_rotsec.map
	$(FUZZ_CC) -shared -fsanitize=fuzzer-no-link,address,undefined $(LD_PAM_MOD) \
		-Wl,--version-script=pam_rotsec/pam_rotsec.map \
		-o $@ $(call obj,fuzz,$(PAM_SRC)) $(O)/fuzz/librotsec.a $(LIBS_PAM)

$(O)/fuzz/libnss_rotsec.so.2: $(call obj,fuzz,$(NSS_SRC) $(NSS_COMMON)) nss_rotsec/nss_rotsec.map
	$(FUZZ_CC) -shared -fsanitize=fuzzer-no-link,address,undefined \
		-Wl,-soname,libnss_rotsec.so.2 -Wl,--version-script=nss_rotsec/nss_rotsec.map \
		-o $@ $(call obj,fuzz,$(NSS_SRC) $(NSS_COMMON)) $(CDB_PIC)

$(O)/fuzz/fuzz_%: $(O)/fuzz/obj/tests/fuzz/fuzz_%.o $(O)/fuzz/obj/tests/fuzz/harness.o \
		$(O)/fuzz/librotsec-engine.a $(O)/fuzz/librotsec.a
	$(FUZZ_CC) $(LDFUZZ) $(FUZZ_LDFLAGS) -o $@ $^ $(LIBS_ENGINE) -lpam -ldl

# Each loads its module at run time from its own directory (order-only: a module rebuilt
# needs no relink). The module's log calls bind to the fuzzer's quiet definitions, and
# libpam's audit_open to one that keeps it off the audit log and DNS, and pam_rotsec's
# getpwnam_r to one that resolves the fuzzed store's own names (fuzz_pam.c).
$(O)/fuzz/fuzz_pam: | $(O)/fuzz/pam_rotsec.so
$(O)/fuzz/fuzz_pam: FUZZ_LDFLAGS = -Wl,--export-dynamic-symbol=pam_syslog \
	-Wl,--export-dynamic-symbol=pam_vsyslog,--export-dynamic-symbol=audit_open \
	-Wl,--export-dynamic-symbol=getpwnam_r
$(O)/fuzz/fuzz_nss: | $(O)/fuzz/libnss_rotsec.so.2
$(O)/fuzz/fuzz_nss: FUZZ_LDFLAGS = \
	-Wl,--export-dynamic-symbol=syslog,--export-dynamic-symbol=vsyslog

fuzz-build: $(addprefix $(O)/fuzz/fuzz_,$(FUZZ_NAMES))

fuzz: fuzz-build
	@failed=""; for t in $(FUZZ); do \
		mkdir -p $(O)/fuzz/corpus/$$t $(O)/fuzz/crash/$$t && \
		cp -Rn tests/fuzz/corpus/$$t/. $(O)/fuzz/corpus/$$t/ && \
		echo "fuzz_$$t: $(FUZZ_SECONDS) s, log in $(O)/fuzz/fuzz_$$t.log" && \
		$(O)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -timeout=30 \
			$$( [ -f tests/fuzz/$$t.dict ] && echo -dict=tests/fuzz/$$t.dict ) \
			-artifact_prefix=$(O)/fuzz/crash/$$t/ $(O)/fuzz/corpus/$$t \
			>$(O)/fuzz/fuzz_$$t.log 2>&1 || { \
			failed="$$failed $$t"; tail -30 $(O)/fuzz/fuzz_$$t.log; }; \
		grep -E '^(#[0-9]+ *DONE|Done)' $(O)/fuzz/fuzz_$$t.log | tail -1; \
	done; \
	[ -z "$$failed" ] || { echo "fuzz: crashes in:$$failed (inputs in $(O)/fuzz/crash/)"; exit 1; }

# Everything the tests need, then every tier; the runner prints "N passed, N failed".
check: deps-check rel asan $(REL_TOOLS) fuzz-build
	@O=$(abspath $(O)) sh tests/run.sh

demo: deps-check rel
	@O=$(abspath $(O)) sh tests/demo.sh

# The long runs of tests/sh/t-soak.sh and t-sys-faults.sh, which `make check` runs short:
# continuous PAM logins over SOAK_ROTATIONS rotations of each account, then the fault
# tests with FAULT_TRIALS SIGKILL trials. Their TAP output is shown as it comes (logins/s,
# rotations, failures, trials, inconsistencies) and kept in $(O)/t-*.log.
SOAK_ROTATIONS ?= 100
FAULT_TRIALS   ?= 1000
soak: deps-check rel asan $(REL_TOOLS)
	@rc=0; for t in t-soak t-sys-faults; do \
		O=$(abspath $(O)) SOAK_ROTATIONS=$(SOAK_ROTATIONS) FAULT_TRIALS=$(FAULT_TRIALS) \
			sh tests/sh/$$t.sh | tee $(O)/$$t.log; \
		grep -q '^1\.\.' $(O)/$$t.log && ! grep -q '^not ok' $(O)/$$t.log || rc=1; \
	done; exit $$rc

# Benchmark drivers: one small program per bench/NAME.c, release flags, linked with what
# any of them needs (libpam for pam_bench, libcrypt for its yescrypt hash, libdl for
# nss_bench's dlopen). What each bench measures and how: bench/README.md.
BENCH_BIN = $(patsubst bench/%.c,$(O)/rel/bench/%,$(wildcard bench/*.c))

$(O)/rel/bench/%: bench/%.c
	@mkdir -p $(@D)
	$(CC) $(CREL) $(INC_bench) $(LDREL) $(BENCH_LDFLAGS) -o $@ $< -lpam -lcrypt -ldl

# pam_bench keeps libpam's audit messages off the host's log with its own audit_open.
$(O)/rel/bench/pam_bench: BENCH_LDFLAGS = -Wl,--export-dynamic-symbol=audit_open

bench: deps-bench rel $(BENCH_BIN)
	@O=$(abspath $(O)) sh bench/run.sh

deps:
	@sh .ci/deps --bench --deb

# Installs what is missing when run as root; otherwise says what to install.
deps-check:
	@sh .ci/deps --check-or-install

# The same, with the peers `make bench` measures rotsec against (and gnuplot).
deps-bench:
	@sh .ci/deps --check-or-install --bench

# What building the Debian packages needs (make deb); checking them is part of make check.
deps-deb:
	@sh .ci/deps --check-or-install --deb-build

# What `make install` ships, Debian layout for PREFIX=/usr. Everything optional is found with
# $(wildcard), so the targets work whatever part of conf/ or man/ exists yet. The PAM and
# nsswitch snippets are examples an admin merges by hand (installing them over
# /etc/pam.d/common-auth would replace the host's own stack), so they go to the doc dir.
# `make uninstall` removes exactly these files, then the directories that are rotsec's own
# (/etc/rotsec and the doc dir) when they are left empty; shared ones (sbin, man8, ...) stay.
EXAMPLEDIR   := $(DOCDIR)/examples
MANPAGES     := $(wildcard man/*.[1-8])
PAM_SNIPPETS := $(wildcard conf/pam.d/*)
NSS_SNIPPET  := $(wildcard conf/nsswitch.conf.example)
UNIT_FILE    := $(wildcard conf/rotsecd.service)
COMPLETION   := $(wildcard conf/bash-completion/rotsecctl)
COMPDIR      := $(PREFIX)/share/bash-completion/completions

install: rel
	install -d -m 0755 "$(DESTDIR)$(SBINDIR)" "$(DESTDIR)$(SYSCONFDIR)/rotsec"
	install -m 0755 $(addprefix $(O)/rel/,$(PROGS)) "$(DESTDIR)$(SBINDIR)/"
	$(if $(PAM_SRC),install -d -m 0755 "$(DESTDIR)$(PAMDIR)")
	$(if $(PAM_SRC),install -m 0644 $(O)/rel/pam_rotsec.so "$(DESTDIR)$(PAMDIR)/")
	$(if $(NSS_SRC),install -d -m 0755 "$(DESTDIR)$(LIBDIR)")
	$(if $(NSS_SRC),install -m 0644 $(O)/rel/libnss_rotsec.so.2 "$(DESTDIR)$(LIBDIR)/")
	install -m 0644 conf/rotsec.conf "$(DESTDIR)$(SYSCONFDIR)/rotsec/rotsec.conf.example"
	for m in $(MANPAGES); do \
		s=$${m##*.}; install -d -m 0755 "$(DESTDIR)$(MANDIR)/man$$s" && \
		install -m 0644 "$$m" "$(DESTDIR)$(MANDIR)/man$$s/" || exit 1; done
	for f in $(PAM_SNIPPETS); do [ -f "$$f" ] || continue; \
		install -d -m 0755 "$(DESTDIR)$(EXAMPLEDIR)/pam.d" && \
		install -m 0644 "$$f" "$(DESTDIR)$(EXAMPLEDIR)/pam.d/" || exit 1; done
	$(if $(NSS_SNIPPET),install -d -m 0755 "$(DESTDIR)$(EXAMPLEDIR)")
	$(if $(NSS_SNIPPET),install -m 0644 $(NSS_SNIPPET) "$(DESTDIR)$(EXAMPLEDIR)/")
	$(if $(UNIT_FILE),install -d -m 0755 "$(DESTDIR)$(UNITDIR)")
	$(if $(UNIT_FILE),install -m 0644 $(UNIT_FILE) "$(DESTDIR)$(UNITDIR)/")
	$(if $(COMPLETION),install -d -m 0755 "$(DESTDIR)$(COMPDIR)")
	$(if $(COMPLETION),install -m 0644 $(COMPLETION) "$(DESTDIR)$(COMPDIR)/rotsecctl")

uninstall:
	rm -f "$(DESTDIR)$(SBINDIR)/rotsecctl" "$(DESTDIR)$(SBINDIR)/rotsecd" \
		"$(DESTDIR)$(PAMDIR)/pam_rotsec.so" "$(DESTDIR)$(LIBDIR)/libnss_rotsec.so.2" \
		"$(DESTDIR)$(SYSCONFDIR)/rotsec/rotsec.conf.example" \
		"$(DESTDIR)$(EXAMPLEDIR)/nsswitch.conf.example" \
		"$(DESTDIR)$(UNITDIR)/rotsecd.service" "$(DESTDIR)$(COMPDIR)/rotsecctl"
	for m in $(notdir $(MANPAGES)); do rm -f "$(DESTDIR)$(MANDIR)/man$${m##*.}/$$m"; done
	for f in $(notdir $(PAM_SNIPPETS)); do rm -f "$(DESTDIR)$(EXAMPLEDIR)/pam.d/$$f"; done
	for d in "$(DESTDIR)$(EXAMPLEDIR)/pam.d" "$(DESTDIR)$(EXAMPLEDIR)" "$(DESTDIR)$(DOCDIR)" \
		"$(DESTDIR)$(SYSCONFDIR)/rotsec"; do \
		[ ! -d "$$d" ] || rmdir --ignore-fail-on-non-empty "$$d"; done

# ---- Version ------------------------------------------------------------------------------
# The one version is common/version.h's. `make set-version VERSION=x.y.z` rewrites it, the
# version in the manual pages' headers, and starts a debian/changelog entry for it (to be
# filled in) when the first entry is another version; tests/sh/t-version.sh checks that
# all of them, the programs' --version and rotsec_build_info agree.
set-version:
	@[ "$(origin VERSION)" = "command line" ] || { echo "usage: make set-version VERSION=x.y.z" >&2; exit 2; }
	@printf '%s\n' "$(VERSION)" | grep -Eq '^[0-9][0-9A-Za-z.+~]*$$' || \
		{ echo "set-version: '$(VERSION)' is not a Debian native version" >&2; exit 2; }
	sed -i 's/^\(#define ROTSEC_VERSION \)".*"$$/\1"$(VERSION)"/' common/version.h
	sed -i 's/^\(\.TH .*\)"rotsec [^"]*"/\1"rotsec $(VERSION)"/' $(MANPAGES)
	@if ! head -n 1 debian/changelog | grep -q '^rotsec ($(VERSION))'; then \
		who=$$(sed -n 's/^ -- \(.*>\)  .*/\1/p' debian/changelog | head -n 1); \
		{ printf 'rotsec (%s) unstable; urgency=medium\n\n  * Version %s.\n\n -- %s  %s\n\n' \
			"$(VERSION)" "$(VERSION)" "$$who" "$$(LC_ALL=C date -R)"; \
		  cat debian/changelog; } >debian/changelog.new && mv debian/changelog.new debian/changelog; \
		echo "debian/changelog: new entry for $(VERSION)"; fi

# ---- Debian packages ----------------------------------------------------------------------
# `make deb` builds the binary packages with dpkg-buildpackage from a clean copy of the
# tracked files (their working-tree content) in $(O)/deb-src/rotsec, and leaves
# rotsec, libpam-rotsec and libnss-rotsec in $(O)/deb/ (no -dbgsym packages, so that
# `apt install ./build/deb/*.deb` installs just those three), with the source package
# made from the same copy beside them for lintian. VERSION=x builds them as version x
# (make set-version in the copy): the upgrade test installs a lower one first. The package
# build gets none of this make's variables (O above all: its `make clean` would remove
# this build directory), only the environment less MAKEFLAGS and O.
# `make deb-check` lints them and installs them for real in a disposable root
# (tests/sh/t-deb.sh).
DEB_SRC := $(O)/deb-src

deb: deps-deb
	rm -rf "$(DEB_SRC)" "$(O)/deb"
	mkdir -p "$(DEB_SRC)/rotsec" "$(O)/deb"
	if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then \
		git ls-files -z | tar --null --ignore-failed-read -T - -cf - 2>/dev/null; \
	else tar --exclude=./.git --exclude="./$(O)" -cf - .; fi | tar -xf - -C "$(DEB_SRC)/rotsec"
	$(if $(filter command line,$(origin VERSION)),\
		$(MAKE) -s -C "$(DEB_SRC)/rotsec" set-version VERSION=$(VERSION))
	cd "$(DEB_SRC)" && dpkg-source -b rotsec
	cd "$(DEB_SRC)/rotsec" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES -u O \
		DEB_BUILD_OPTIONS="$(DEB_BUILD_OPTIONS) noautodbgsym" dpkg-buildpackage -us -uc -b
	mv "$(DEB_SRC)"/*.deb "$(DEB_SRC)"/*.changes "$(DEB_SRC)"/*.buildinfo "$(DEB_SRC)"/*.dsc \
		"$(DEB_SRC)"/*.tar.* "$(O)/deb/"
	@ls -l "$(O)/deb"/*.deb

deb-check: deps-check
	@O=$(abspath $(O)) TESTS=t-deb sh tests/run.sh

SOURCES = $(wildcard common/*.[ch] pam_rotsec/*.[ch] nss_rotsec/*.[ch] engine/*.[ch] \
          rotsecd/*.[ch] rotsecctl/*.[ch] \
          tests/unit/*.[ch] tests/module/*.[ch] tests/tools/*.[ch] tests/fuzz/*.[ch])

format:
	clang-format -i $(SOURCES)

format-check:
	@clang-format --dry-run --Werror $(SOURCES) && echo "format: clean"

# clang-tidy is clang: gcc's -Wno-format-truncation is an unknown option to it, an error
# in every file that also kept its analyzer from running. One file per clang-tidy, as
# many at once as there are CPUs: the analyzer takes minutes over the whole tree.
LINT_FLAGS := $(filter-out -Wno-format-truncation,$(CBASE)) $(INC_tests) -DROTSEC_FAULTS

lint:
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability,performance \
		--inline-suppr --suppressions-list=.cppcheck-suppressions \
		$(INC_tests) -D__GNUC__ -DROTSEC_FAULTS $(filter %.c,$(SOURCES))
	@printf '%s\n' $(filter %.c,$(SOURCES)) | \
		xargs -P "$$(nproc)" -I{} clang-tidy --quiet {} -- $(LINT_FLAGS)
	@echo "lint: clean"

clean:
	rm -rf $(O)

help:
	@echo "all check demo bench fuzz soak install uninstall deps format format-check lint clean" \
		"deb deb-check set-version"

# Dependency files only: not the directories named *.d (pam.d, tmpfiles.d) nor the package
# build's own tree under $(O)/deb-src, whose paths are relative to another top.
-include $(shell find $(O) -path '$(O)/deb-src' -prune -o -name '*.d' -type f -print 2>/dev/null)
.SECONDARY:
