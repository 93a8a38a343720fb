# SPDX-License-Identifier: ISC
# postern - build, test, install.  GNU make; libraries through pkg-config.
#
#   make                 build build/postern
#   make SANITIZE=1      ASan+UBSan build in build-asan/ (any target)
#   make SANITIZE=thread ThreadSanitizer build in build-tsan/ (integ-tsan)
#   make check           C unit tests        make integ   integration tests
#   make test            both, also on the ASan build, and fuzz smoke runs
#   make fuzz            libFuzzer targets
#   make run             demo: postern in front of a local smtp-sink
#   make bench           scripts/bench/ (SECTION="spf dkim": those only)
#   make install PREFIX=/usr DESTDIR=

PREFIX	?= /usr/local
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
DESTDIR	?=
CC	?= cc
PYTHON	?= /usr/bin/python3
PKGS	 = libevent libevent_pthreads libevent_openssl libpcre2-8 libunbound \
	   opendkim libssl libcrypto libsystemd libpsl hiredis
# libspf2 ships no pkg-config file.
LIBS_EXTRA = -lspf2 -lmilter -lm -pthread

ifeq ($(SANITIZE),1)
BUILD	?= build-asan
SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer \
	   -fno-sanitize-recover=undefined
else ifeq ($(SANITIZE),thread)
BUILD	?= build-tsan
SANFLAGS = -fsanitize=thread -fno-omit-frame-pointer
else
BUILD	?= build
SANFLAGS =
endif

# CFLAGS, CPPFLAGS and LDFLAGS are the caller's (optimisation, debug: make
# CFLAGS="-O0 -g"; the package build's hardening flags); what the project
# needs comes after them in ALL_CFLAGS.
CFLAGS	?= -O2 -g
ALL_CFLAGS = $(CPPFLAGS) $(CFLAGS) -std=gnu11 -Wall -Wextra -Werror -Wshadow -Wpointer-arith \
	   -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
	   -D_GNU_SOURCE -I. \
	   $(shell pkg-config --cflags $(PKGS)) $(SANFLAGS)
LDLIBS	+= $(shell pkg-config --libs $(PKGS)) $(LIBS_EXTRA) $(SANFLAGS)

# Everything but main.c goes into a static library the tests link against.
SRCS	 = lib/util.c \
	   lib/log.c \
	   proxy/io.c \
	   proto/smtp_parse.c \
	   proto/proxyproto.c \
	   proto/milter_proto.c \
	   proto/data.c \
	   proto/rfc5322.c \
	   proto/mime.c \
	   proto/dmarc_record.c \
	   proto/mailbox.c \
	   proto/dkimcanon.c \
	   proto/dkimsighdr.c \
	   proto/taglist.c \
	   proto/arcset.c \
	   proxy/spool.c \
	   lib/worker.c \
	   lib/dns.c \
	   lib/milter_client.c \
	   lib/ttlcache.c \
	   lib/metrics.c \
	   lib/store_math.c \
	   lib/store.c \
	   lib/store_mem.c \
	   lib/store_redis.c \
	   lib/json.c \
	   proxy/rdns.c \
	   proxy/listener.c \
	   proxy/backend.c \
	   proxy/backend_list.c \
	   proxy/session.c \
	   proxy/session_data.c \
	   proxy/session_tls.c \
	   proxy/session_auth.c \
	   proxy/session_backend_tls.c \
	   proxy/session_identity.c \
	   proxy/session_rdns.c \
	   proxy/tls.c \
	   proxy/server.c \
	   proxy/loops.c \
	   proxy/metrics_http.c \
	   proxy/stats.c \
	   proxy/dryrun.c \
	   proxy/milter_front.c \
	   proxy/milter_super.c \
	   policy/conf.c \
	   policy/table.c \
	   policy/decide.c \
	   policy/txlog.c \
	   policy/txcount.c \
	   policy/spamstatus.c \
	   policy/ratelimit_spec.c \
	   policy/netprefix.c \
	   policy/authres.c \
	   policy/hdrbuild.c \
	   policy/peerlist.c \
	   policy/dnsbl_sites.c \
	   filters/chain.c \
	   filters/rules.c \
	   filters/iplist.c \
	   filters/regex.c \
	   filters/spf_record.c \
	   filters/spf_dns.c \
	   filters/spf_check.c \
	   filters/spf_cache.c \
	   filters/spf.c \
	   filters/dkim_verify.c \
	   filters/dkimtab.c \
	   filters/dkimsig.c \
	   filters/dkim_sign.c \
	   filters/arcverify.c \
	   filters/arc.c \
	   filters/arc_seal.c \
	   filters/milter.c \
	   filters/dnsbl.c \
	   filters/clientkey.c \
	   filters/ratelimit.c \
	   filters/greylist.c \
	   filters/dmarc_eval.c \
	   filters/dmarc_history.c \
	   filters/dmarc.c

OBJS	 = $(SRCS:%.c=$(BUILD)/%.o) $(BUILD)/conf_default.o \
	   $(BUILD)/rules_default.o
EMBED	 = $(BUILD)/conf_default.c $(BUILD)/rules_default.c
# made by a pattern rule, they are kept like any build product
.SECONDARY: $(EMBED)
LIB	 = $(BUILD)/libpostern.a
BIN	 = $(BUILD)/postern
UNITS	 = $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/t_*.c))
FUZZERS	 = $(patsubst tests/fuzz/%.c,build-fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))

.PHONY: all units check check-asan integ integ-threads integ-asan integ-tsan \
	test fuzz fuzz-smoke run \
	bench install clean rfc7208 build-O0 layout man deb

all: $(BIN)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

# Texts embedded as C strings NAME_default_text: the default
# configuration (policy/conf.c) and the shipped rule set, for regex.rules =
# default (filters/regex.c).
EMBED_conf  = policy/postern.conf
EMBED_rules = rules/default.rules
.SECONDEXPANSION:
$(BUILD)/%_default.c: $$(EMBED_$$*)
	@mkdir -p $(dir $@)
	{ echo 'const char $*_default_text[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $<; \
	  echo ';'; } > $@

$(BUILD)/%_default.o: $(BUILD)/%_default.c
	$(CC) $(ALL_CFLAGS) -Wno-missing-variable-declarations -c -o $@ $<

$(LIB): $(OBJS)
	rm -f $@
	ar rcs $@ $(OBJS)

$(BIN): $(BUILD)/proxy/main.o $(LIB)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/tap.h tests/unit/data_ref.h \
    tests/unit/ar_ref.h tests/unit/dkim_oracle.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

check: $(UNITS)
	@fail=0; for t in $(UNITS); do \
	    echo "== $$t"; $$t > $$t.log 2>&1 || { fail=1; cat $$t.log; }; \
	    tail -n 1 $$t.log; \
	done; exit $$fail

# The RFC 7208 SPF suite through filters/spf_check.c and lib/dns.c.
SPF_SUITE ?= ../shared/testdata/rfc7208-tests.yml
$(BUILD)/tests/spf_eval: tests/spf/spf_eval.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LDLIBS)

rfc7208: $(BUILD)/tests/spf_eval
	$(PYTHON) tests/spf/rfc7208.py --eval $(abspath $<) --suite $(SPF_SUITE)

integ: $(BIN)
	POSTERN=$(abspath $(BIN)) $(PYTHON) -m pytest -q -p no:cacheprovider tests/integ

# The no-loss, limit and signal tests again with two event loops.
INTEG_THREADS = test_signals.py test_data.py test_backend_reply.py \
	   test_smuggling.py test_limits.py test_relay.py test_load.py
integ-threads: $(BIN)
	POSTERN_THREADS=2 POSTERN=$(abspath $(BIN)) $(PYTHON) -m pytest -q \
	    -p no:cacheprovider $(addprefix tests/integ/,$(INTEG_THREADS))

# The unit and integration tests again on the ASan+UBSan build.
check-asan:
	$(MAKE) SANITIZE=1 check

integ-asan:
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 $(MAKE) SANITIZE=1 integ

# The integration tests with two event loops on the ThreadSanitizer build
# (clang; by hand: not in make test).
integ-tsan:
	POSTERN_THREADS=2 TSAN_OPTIONS=halt_on_error=0 \
	    $(MAKE) SANITIZE=thread CC=clang integ

# Every -O level must build clean: CI builds once at -O0 (tests included).
build-O0:
	$(MAKE) CFLAGS="-O0 -g" BUILD=build-O0 all units

units: $(UNITS)

# The layout's arrows and the SPDX lines (scripts/check_layout.sh).
layout:
	scripts/check_layout.sh

# The man pages, from README.md's reference and the key table: a key
# without a README row fails (scripts/mkman.py).
man: $(BIN)
	$(PYTHON) scripts/mkman.py $(abspath $(BIN)) $(BUILD)/man

test: layout man build-O0 deb check check-asan rfc7208 fuzz-smoke integ \
	integ-threads integ-asan

# libFuzzer targets, built with clang against the sources they exercise.
FUZZ_CFLAGS = -g -O1 -std=gnu11 -D_GNU_SOURCE -I. \
	   -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	   $(shell pkg-config --cflags $(PKGS))
build-fuzz/%: tests/fuzz/%.c $(SRCS) $(EMBED)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -o $@ $< $(SRCS) $(EMBED) \
	    $(shell pkg-config --libs $(PKGS)) $(LIBS_EXTRA)

fuzz: $(FUZZERS)

# Every fuzzer over its seed corpus plus FUZZ_SECONDS of new inputs.
FUZZ_SECONDS ?= 10
fuzz-smoke: $(FUZZERS)
	@for f in $(FUZZERS); do \
	    n=$$(basename $$f); mkdir -p build-fuzz/corpus/$$n; \
	    echo "== $$n"; \
	    $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=0 \
	        build-fuzz/corpus/$$n tests/fuzz/seeds/$$n \
	        > build-fuzz/$$n.log 2>&1 || { cat build-fuzz/$$n.log; exit 1; }; \
	    tail -n 1 build-fuzz/$$n.log; \
	done

run: $(BIN)
	scripts/demo.sh $(abspath $(BIN))

bench: $(BIN)
	BENCH_SECTIONS="$(SECTION)" scripts/bench/bench.sh $(abspath $(BIN))

install: $(BIN) man
	install -D -m 0644 $(BUILD)/man/postern.8 \
	    $(DESTDIR)$(PREFIX)/share/man/man8/postern.8
	install -D -m 0644 $(BUILD)/man/postern-keygen.8 \
	    $(DESTDIR)$(PREFIX)/share/man/man8/postern-keygen.8
	install -D -m 0644 $(BUILD)/man/postern.conf.5 \
	    $(DESTDIR)$(PREFIX)/share/man/man5/postern.conf.5
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/sbin/postern
	install -D -m 0644 policy/postern.conf \
	    $(DESTDIR)$(PREFIX)/share/postern/postern.conf.example
	install -D -m 0644 rules/default.rules \
	    $(DESTDIR)$(PREFIX)/share/postern/default.rules
	install -D -m 0644 rules/allow.example \
	    $(DESTDIR)$(PREFIX)/share/postern/allow.example
	install -D -m 0644 contrib/haproxy/haproxy.cfg \
	    $(DESTDIR)$(PREFIX)/share/postern/haproxy.cfg
	install -D -m 0644 contrib/grafana/postern.json \
	    $(DESTDIR)$(PREFIX)/share/postern/grafana-dashboard.json
	install -D -m 0644 contrib/prometheus/alerts.yml \
	    $(DESTDIR)$(PREFIX)/share/postern/prometheus-alerts.yml
	install -D -m 0755 scripts/postern-keygen \
	    $(DESTDIR)$(PREFIX)/sbin/postern-keygen
	for u in postern postern-milter; do \
	    sed 's|/usr/sbin/postern|$(PREFIX)/sbin/postern|' \
	        contrib/systemd/$$u.service > $$u.service.tmp && \
	    install -D -m 0644 $$u.service.tmp \
	        $(DESTDIR)$(SYSTEMDUNITDIR)/$$u.service && \
	    rm -f $$u.service.tmp; \
	done

# The Debian package, built in a copy of the tree (the package's clean
# step removes build/): build/deb/postern_VERSION_ARCH.deb, checked by
# lintian (errors fail).
DEB_DIR	 = build/deb
deb:
	rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/postern
	tar -c --exclude='./build*' --exclude=./.git . | \
	    tar -x -C $(DEB_DIR)/postern
	cd $(DEB_DIR)/postern && DEB_BUILD_OPTIONS=parallel=2 \
	    dpkg-buildpackage -b -us -uc
	lintian --fail-on error --suppress-tags-from-file \
	    debian/lintian-suppress $(DEB_DIR)/postern_*.deb

clean:
	rm -rf build build-asan build-fuzz build-O0

-include $(shell find $(BUILD) -path '$(BUILD)/deb' -prune -o -name '*.d' -type f -print 2>/dev/null)
