# p2psip: a peer-to-peer SIP overlay. `make`, `make check`, `make demo`,
# `make install PREFIX=... DESTDIR=...`, `make fuzz`, `make bench`, `make format`.

VERSION := 0.1.0
PREFIX ?= /usr/local
DESTDIR ?=
B := build

CC ?= cc
# make V=1 shows the full commands.
ifeq ($(V),1)
Q :=
else
Q := @
endif
PKGS := openssl libevent libevent_openssl jansson sqlite3
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wvla \
	-fstack-protector-strong -D_FORTIFY_SOURCE=2 -D_GNU_SOURCE \
	-DP2PSIP_VERSION='"$(VERSION)"' -Icommon $(PKG_CFLAGS)
LDLIBS += $(PKG_LIBS) -lpthread -lm
# sofia-sip: its headers for every object, its library only for the programs
# that speak SIP (a target-specific LDLIBS += $(SOFIA_LIBS)).
CFLAGS += $(shell pkg-config --cflags sofia-sip-ua 2>/dev/null)
SOFIA_LIBS := $(shell pkg-config --libs sofia-sip-ua 2>/dev/null)

COMMON_SRCS += common/log.c
COMMON_SRCS += common/util.c
COMMON_SRCS += common/conf.c
COMMON_SRCS += common/frame.c
COMMON_SRCS += common/jsonx.c
COMMON_SRCS += common/identity.c
COMMON_SRCS += common/sig.c
COMMON_SRCS += common/crl.c
COMMON_SRCS += common/tls.c
COMMON_SRCS += common/db.c
COMMON_SRCS += common/tlsprobe.c
COMMON_SRCS += common/workq.c
COMMON_SRCS += common/httpd.c
COMMON_SRCS += common/httpc.c
COMMON_SRCS += common/daemon.c
COMMON_SRCS += common/ringid.c
COMMON_SRCS += common/record.c
COMMON_SRCS += common/certcheck.c
COMMON_SRCS += common/tcpconn.c
COMMON_SRCS += common/olink.c
COMMON_SRCS += common/enroll.c
COMMON_SRCS += common/ratelimit.c
COMMON_SRCS += common/keepcert.c
COMMON_SRCS += common/sipev.c
COMMON_SRCS += common/stun.c
COMMON_SRCS += common/sdp.c
COMMON_SRCS += common/statusd.c
COMMON_SRCS += common/prom.c
COMMON_SRCS += common/bootc.c
COMMON_SRCS += common/bootcache.c
COMMON_SRCS += common/netlist.c
COMMON_SRCS += common/seal.c
COMMON_SRCS += common/adhoc.c
COMMON_SRCS += common/lan.c

LOGIND_SRCS += logind/logind.c
LOGIND_SRCS += logind/logind_config.c
LOGIND_SRCS += logind/logind_proto.c
LOGIND_SRCS += logind/logind_x509.c
LOGIND_SRCS += logind/logind_ca.c
LOGIND_SRCS += logind/logind_auth.c
LOGIND_SRCS += logind/logind_ratelimit.c
LOGIND_SRCS += logind/logind_db.c
LOGIND_SRCS += logind/logind_certs.c
LOGIND_SRCS += logind/logind_api.c
LOGIND_SRCS += logind/logind_admin.c
LOGIND_SRCS += logind/logind_status.c
LOGIND_SRCS += logind/logind_adhoc.c

ADMIN_SRCS += admin/p2psip-admin.c

ADHOC_SRCS += adhoc/p2psip-adhoc.c
ADHOC_SRCS += adhoc/adhoc_procs.c

CLI_SRCS += cli/p2psip.c
CLI_SRCS += cli/p2p_link.c
CLI_SRCS += cli/p2p_login.c
CLI_SRCS += cli/p2p_cmds.c
CLI_SRCS += cli/p2p_raw.c
CLI_SRCS += cli/p2p_stun.c

SUPERNODE_SRCS += supernode/supernode.c
SUPERNODE_SRCS += supernode/sn_config.c
SUPERNODE_SRCS += supernode/sn_proto.c
SUPERNODE_SRCS += supernode/sn_ring.c
SUPERNODE_SRCS += supernode/sn_store.c

SUPERNODE_SRCS += supernode/sn_db.c
SUPERNODE_SRCS += supernode/sn_cache.c
SUPERNODE_SRCS += supernode/sn_conn.c
SUPERNODE_SRCS += supernode/sn_route.c
SUPERNODE_SRCS += supernode/sn_chord.c
SUPERNODE_SRCS += supernode/sn_data.c
SUPERNODE_SRCS += supernode/sn_client.c
SUPERNODE_SRCS += supernode/sn_boot.c
SUPERNODE_SRCS += supernode/sn_status.c
SUPERNODE_SRCS += supernode/sn_stun.c
SUPERNODE_SRCS += supernode/sn_relay.c
SUPERNODE_SRCS += supernode/sn_handler.c
SUPERNODE_SRCS += supernode/sn_service.c
SUPERNODE_SRCS += supernode/sn_reach.c
SUPERNODE_SRCS += supernode/sn_relaypol.c
SUPERNODE_SRCS += supernode/sn_lan.c

ORDINARYNODE_SRCS += ordinarynode/ordinarynode.c
ORDINARYNODE_SRCS += ordinarynode/on_config.c
ORDINARYNODE_SRCS += ordinarynode/on_lan.c
ORDINARYNODE_SRCS += ordinarynode/on_sip.c
ORDINARYNODE_SRCS += ordinarynode/on_auth.c
ORDINARYNODE_SRCS += ordinarynode/on_proxy.c
ORDINARYNODE_SRCS += ordinarynode/on_nat.c
ORDINARYNODE_SRCS += ordinarynode/on_media.c
ORDINARYNODE_SRCS += ordinarynode/on_db.c
ORDINARYNODE_SRCS += ordinarynode/on_registrar.c
ORDINARYNODE_SRCS += ordinarynode/on_publish.c
ORDINARYNODE_SRCS += ordinarynode/on_status.c
ORDINARYNODE_SRCS += ordinarynode/on_promote.c
ORDINARYNODE_SRCS += ordinarynode/on_boot.c
ORDINARYNODE_SRCS += ordinarynode/on_link.c
ORDINARYNODE_SRCS += ordinarynode/on_target.c
ORDINARYNODE_SRCS += ordinarynode/on_msg.c
ORDINARYNODE_SRCS += ordinarynode/on_lookup.c
ORDINARYNODE_SRCS += ordinarynode/on_dialog.c
ORDINARYNODE_SRCS += ordinarynode/on_forward.c
ORDINARYNODE_SRCS += ordinarynode/on_peers.c
ORDINARYNODE_SRCS += ordinarynode/on_seal.c
ORDINARYNODE_SRCS += ordinarynode/on_topo.c
ORDINARYNODE_SRCS += ordinarynode/on_gateway.c
ORDINARYNODE_SRCS += ordinarynode/on_edge.c
ORDINARYNODE_SRCS += ordinarynode/on_fed.c

BOOTSTRAPD_SRCS += bootstrapd/bootstrapd.c
BOOTSTRAPD_SRCS += bootstrapd/bootstrapd_config.c
BOOTSTRAPD_SRCS += bootstrapd/bootstrapd_proto.c
BOOTSTRAPD_SRCS += bootstrapd/bootstrapd_db.c
BOOTSTRAPD_SRCS += bootstrapd/bootstrapd_api.c
BOOTSTRAPD_SRCS += bootstrapd/bootstrapd_check.c
BOOTSTRAPD_SRCS += bootstrapd/bootstrapd_crl.c
BOOTSTRAPD_SRCS += bootstrapd/bootstrapd_status.c

MAN1 += man/p2psip.1
MAN1 += man/p2psip-admin.1
MAN1 += man/p2psip-adhoc.1
MAN5 += man/logind.conf.5
MAN5 += man/bootstrapd.conf.5
MAN5 += man/supernode.conf.5
MAN5 += man/ordinarynode.conf.5
MAN8 += man/logind.8
MAN8 += man/bootstrapd.8
MAN8 += man/supernode.8
MAN8 += man/ordinarynode.8

PROGS := $(B)/bin/logind $(B)/bin/bootstrapd $(B)/bin/p2psip-admin $(B)/bin/supernode \
	$(B)/bin/p2psip $(B)/bin/ordinarynode
PROGS += $(B)/bin/p2psip-adhoc

# Unit tests: tests/unit/test_<module>.c, linked with the module's program
# objects (minus main) and the common library.
UNIT_COMMON := log util conf frame jsonx identity sig crl tls db workq httpd httpc daemon \
	ringid record certcheck tcpconn olink enroll keepcert sipev stun sdp prom
UNIT_COMMON += bootc
UNIT_COMMON += bootcache
UNIT_COMMON += netlist
UNIT_COMMON += seal
UNIT_COMMON += ratelimit
UNIT_COMMON += adhoc
UNIT_COMMON += lan
UNIT_LOGIND := logind_proto logind_x509 logind_auth logind_ratelimit logind_db
UNIT_LOGIND += logind_adhoc
UNIT_BOOTSTRAPD := bootstrapd_proto bootstrapd_db
UNIT_SUPERNODE := sn_ring sn_store sn_db sn_proto
UNIT_SUPERNODE += sn_handler
UNIT_SUPERNODE += sn_service
UNIT_SUPERNODE += sn_relaypol

UNIT_ORDINARYNODE := on_db on_registrar on_target on_msg on_lookup on_dialog on_sip \
	on_config on_auth
UNIT_ORDINARYNODE += on_peers
UNIT_ORDINARYNODE += on_topo
UNIT_ORDINARYNODE += on_gateway
UNIT_TESTS := $(UNIT_COMMON:%=$(B)/tests/test_%) $(UNIT_LOGIND:%=$(B)/tests/test_%) \
	$(UNIT_BOOTSTRAPD:%=$(B)/tests/test_%) $(UNIT_SUPERNODE:%=$(B)/tests/test_%) \
	$(UNIT_ORDINARYNODE:%=$(B)/tests/test_%)

BENCH_PROGS := $(B)/bench/login_bench $(B)/bench/dht_bench

obj = $(patsubst %.c,$(B)/obj/%.o,$(1))
COMMON_OBJS := $(call obj,$(COMMON_SRCS))
LOGIND_LIB_OBJS := $(call obj,$(filter-out logind/logind.c,$(LOGIND_SRCS)))
BOOTSTRAPD_LIB_OBJS := $(call obj,$(filter-out bootstrapd/bootstrapd.c,$(BOOTSTRAPD_SRCS)))
SUPERNODE_LIB_OBJS := $(call obj,$(filter-out supernode/supernode.c,$(SUPERNODE_SRCS)))
ORDINARYNODE_LIB_OBJS := $(call obj,$(filter-out ordinarynode/ordinarynode.c,$(ORDINARYNODE_SRCS)))

.PHONY: all check demo install fuzz bench format clean deps deps-check pkgs unit
all: $(PROGS)

# Every object waits for the libraries' pkg-config files: without them the
# flags above are empty and the link fails far from the cause.
$(B)/obj/%.o: %.c | pkgs
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(B)/libcommon.a: $(COMMON_OBJS)
	@rm -f $@
	@echo "  AR      $@"
	$(Q)ar rcs $@ $^

$(B)/liblogind.a: $(LOGIND_LIB_OBJS)
	@rm -f $@
	@echo "  AR      $@"
	$(Q)ar rcs $@ $^

$(B)/libbootstrapd.a: $(BOOTSTRAPD_LIB_OBJS)
	@rm -f $@
	@echo "  AR      $@"
	$(Q)ar rcs $@ $^

$(B)/libsupernode.a: $(SUPERNODE_LIB_OBJS)
	@rm -f $@
	@echo "  AR      $@"
	$(Q)ar rcs $@ $^

$(B)/libordinarynode.a: $(ORDINARYNODE_LIB_OBJS)
	@rm -f $@
	@echo "  AR      $@"
	$(Q)ar rcs $@ $^

$(B)/bin/supernode: $(call obj,supernode/supernode.c) $(B)/libsupernode.a $(B)/libcommon.a
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/bin/ordinarynode: $(call obj,ordinarynode/ordinarynode.c) $(B)/libordinarynode.a $(B)/libcommon.a
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(SOFIA_LIBS)

$(B)/bin/p2psip: $(call obj,$(CLI_SRCS)) $(B)/libcommon.a
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/bin/logind: $(call obj,logind/logind.c) $(B)/liblogind.a $(B)/libcommon.a
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/bin/bootstrapd: $(call obj,bootstrapd/bootstrapd.c) $(B)/libbootstrapd.a $(B)/libcommon.a
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/bin/p2psip-admin: $(call obj,$(ADMIN_SRCS)) $(B)/libcommon.a
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/bin/p2psip-adhoc: $(call obj,$(ADHOC_SRCS)) $(B)/libcommon.a
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Test builds of two programs with P2PSIP_TEST_HOOKS: a super node that
# tampers with the frames it carries and an ordinary node that sends as
# someone else, for tests/integration/test_sealed.sh. Never installed.
HOOK_PROGS := $(B)/test/supernode $(B)/test/ordinarynode
$(B)/test/obj/%.o: %.c | pkgs
	@mkdir -p $(dir $@)
	@echo "  CC      $@ (test hooks)"
	$(Q)$(CC) $(CFLAGS) -DP2PSIP_TEST_HOOKS -MMD -MP -c $< -o $@

$(B)/test/supernode: $(call obj,supernode/supernode.c) $(B)/test/obj/supernode/sn_client.o \
		$(B)/libsupernode.a $(B)/libcommon.a
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/test/ordinarynode: $(call obj,ordinarynode/ordinarynode.c) \
		$(B)/test/obj/ordinarynode/on_forward.o $(B)/libordinarynode.a $(B)/libcommon.a
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(SOFIA_LIBS)
-include $(shell find $(B)/test/obj -name '*.d' 2>/dev/null)

$(B)/obj/tests/%.o: CFLAGS += -Ilogind -Ibootstrapd -Isupernode -Itests/unit
$(B)/obj/bench/%.o: CFLAGS += -Ilogind -Ibootstrapd

$(B)/tests/test_%: $(B)/obj/tests/unit/test_%.o $(B)/obj/tests/unit/testutil.o \
		$(B)/liblogind.a $(B)/libbootstrapd.a $(B)/libsupernode.a $(B)/libcommon.a
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

$(B)/tests/test_sipev: LDLIBS += $(SOFIA_LIBS)

# The ordinary node's modules speak SIP: they link with sofia-sip.
$(B)/obj/tests/unit/test_on_%.o: CFLAGS += -Iordinarynode
$(UNIT_ORDINARYNODE:%=$(B)/tests/test_%): $(B)/tests/test_%: $(B)/obj/tests/unit/test_%.o \
		$(B)/obj/tests/unit/testutil.o $(B)/libordinarynode.a $(B)/libcommon.a
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(SOFIA_LIBS) -lcmocka

$(B)/bench/%: $(B)/obj/bench/%.o $(B)/libcommon.a
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

deps:
	@scripts/install-deps.sh --check >/dev/null 2>&1 || scripts/install-deps.sh

# The tests also drive Linphone, which the demo does not need.
deps-check:
	@scripts/install-deps.sh --phones --check >/dev/null 2>&1 || scripts/install-deps.sh --phones

pkgs:
	@pkg-config --exists $(PKGS) sofia-sip-ua 2>/dev/null || { \
		echo "missing libraries ($(PKGS) sofia-sip-ua): run 'make demo' or" \
		     "'make check' as root, or 'sudo scripts/install-deps.sh' first" >&2; exit 1; }

TEST_TOOLS := $(B)/tests/udpx

$(B)/tests/udpx: tests/tools/udpx.c
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) -o $@ $<

unit: $(UNIT_TESTS) $(TEST_TOOLS)

# Fuzz harnesses (clang, libFuzzer, ASan/UBSan): one per parser.
FUZZ_CC ?= clang
FUZZ_CFLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-std=gnu11 -D_GNU_SOURCE -DP2PSIP_VERSION='"$(VERSION)"' -Icommon -Ilogind -Ibootstrapd -Isupernode $(PKG_CFLAGS)
FUZZ_TARGETS := frame conf login_req admin_req announce record route stun sdp
FUZZ_TARGETS += bootc crl
FUZZ_TARGETS += sn_frames
FUZZ_TARGETS += on_target
FUZZ_TARGETS += netlist
FUZZ_TARGETS += on_auth
FUZZ_TARGETS += seal
FUZZ_TARGETS += on_topo
FUZZ_TARGETS += lan
FUZZ_TARGETS += adhoc
fuzz: $(FUZZ_TARGETS:%=$(B)/fuzz/fuzz_%)
# (sipev.c is left out: no parser in it, and it needs sofia-sip to link.)
$(B)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(filter-out common/sipev.c,$(COMMON_SRCS)) \
		$(filter-out logind/logind.c,$(LOGIND_SRCS)) \
		$(filter-out bootstrapd/bootstrapd.c,$(BOOTSTRAPD_SRCS)) \
		$(filter-out supernode/supernode.c,$(SUPERNODE_SRCS))
	@mkdir -p $(dir $@)
	@echo "  FUZZ    $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $^ $(LDLIBS)
# The ordinary node's pure parts, with sofia-sip (its parser for SIP text).
$(B)/fuzz/fuzz_on_%: tests/fuzz/fuzz_on_%.c ordinarynode/on_%.c \
		$(filter-out common/sipev.c,$(COMMON_SRCS))
	@mkdir -p $(dir $@)
	@echo "  FUZZ    $@"
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -Iordinarynode $(shell pkg-config --cflags sofia-sip-ua \
		2>/dev/null) -o $@ $^ $(LDLIBS) $(SOFIA_LIBS)
$(B)/fuzz/fuzz_on_target: ordinarynode/on_msg.c
$(B)/fuzz/fuzz_on_target: ordinarynode/on_dialog.c
$(B)/fuzz/fuzz_on_topo: ordinarynode/on_msg.c ordinarynode/on_target.c ordinarynode/on_dialog.c

# check and demo install the packages first, then build in a second make:
# the pkg-config flags above are computed when a make reads this file, so
# the make that installed the -dev packages cannot build with them.
check: deps-check
	@$(MAKE) --no-print-directory all unit $(BENCH_PROGS) $(HOOK_PROGS)
	@if command -v $(FUZZ_CC) >/dev/null; then $(MAKE) --no-print-directory fuzz; \
	else echo "fuzz harnesses not built: $(FUZZ_CC) missing"; fi
	@tests/run.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@scripts/demo.sh

bench: all $(BENCH_PROGS)
	@bench/login.sh
	@bench/dht.sh
	@bench/sip.sh
	@bench/gateway.sh
	@bench/relay.sh
	@bench/churn.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(B)/bin/logind $(B)/bin/bootstrapd $(B)/bin/supernode \
		$(B)/bin/ordinarynode $(DESTDIR)$(PREFIX)/sbin/
	install -m 755 $(B)/bin/p2psip-admin $(B)/bin/p2psip $(DESTDIR)$(PREFIX)/bin/
	install -m 755 $(B)/bin/p2psip-adhoc $(DESTDIR)$(PREFIX)/bin/
	install -d $(DESTDIR)$(PREFIX)/share/p2psip/examples $(DESTDIR)$(PREFIX)/lib/systemd/system
	install -m 644 etc/*.conf $(DESTDIR)$(PREFIX)/share/p2psip/examples/
	install -d $(DESTDIR)$(PREFIX)/share/p2psip/examples/fail2ban/filter.d
	install -m 644 etc/fail2ban/filter.d/*.conf \
		$(DESTDIR)$(PREFIX)/share/p2psip/examples/fail2ban/filter.d/
	for u in etc/systemd/*.service; do \
		sed 's|/usr/local/|$(PREFIX)/|g' $$u >$(DESTDIR)$(PREFIX)/lib/systemd/system/$$(basename $$u); \
	done
	install -d $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5 \
		$(DESTDIR)$(PREFIX)/share/man/man8
# The pages name the installed examples under /usr/local, as the units do.
	for m in $(MAN1) $(MAN5) $(MAN8); do \
		d=$(DESTDIR)$(PREFIX)/share/man/man$${m##*.}/$$(basename $$m); \
		sed 's|/usr/local/|$(PREFIX)/|g' $$m >$$d && chmod 644 $$d || exit 1; \
	done

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(B)

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)

# The tests' forger of LAN announcements (test_lan).
TEST_TOOLS += $(B)/tests/lanforge
unit: $(B)/tests/lanforge
$(B)/tests/lanforge: tests/tools/lanforge.c $(B)/libcommon.a
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)
