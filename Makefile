# Makefile - builds the three services and their shared library out of tree into $(BUILD)/.
#
#   make            build/ingest build/processor build/reporting
#   make test       unit tests (cmocka) and integration tests against real servers
#   make asan       the same tests, built with AddressSanitizer + UBSan, in build-asan/
#   make valgrind   the integration tests with every service under valgrind
#   make fuzz       libFuzzer on the parsers for FUZZ_SECONDS (60), ASan + UBSan
#   make format-check  clang-format and shellcheck
#   make docs-check    every relative link and named repository path exists (docs/development.md)
#   make images     container images of the three programs (podman); images-test runs them
#   make k8s-check  validate deploy/kubernetes offline (schemas, required fields)
#   make check      set-up, format-check, docs-check, k8s-check, check-test (unit tests of
#                   both builds, each integration script once), images-test, valgrind,
#                   fuzz: what CI runs
#   make run        set-up, build, and start everything locally (Ctrl-C stops it)
#   make bench      set-up, build, and the benchmark suite (a few minutes; not part of
#                   check): prints a table, writes docs/benchmarks.md
#   make bench-cost set-up, build, and only the benchmark's instruction counts (callgrind)

# Each program is built from its own folder and the common/ modules it names below, and
# linked with only the libraries it uses: ingest has no MongoDB driver, reporting no Redis
# client. Every common/ module is in at least two of these lists.
COMMON_BASE          := err text ts log cfg metrics civet_internals framing http_reply http_body http_pool \
                        http svc jsonmem
ENVELOPE             := envelope envelope_visit envelope_fast
ingest_COMMON        := $(COMMON_BASE) auth auth_http rconn rcluster rcluster_map event device $(ENVELOPE) \
                        qshard qrecord sitelist tz sitetz
processor_COMMON     := $(COMMON_BASE) rconn rcluster rcluster_map event device $(ENVELOPE) store rollup_doc \
                        qshard qrecord retention sitelist tz sitetz
reporting_COMMON     := $(COMMON_BASE) auth auth_http store rollup_doc retention sitelist tz sitetz
ingest_PKGS          := hiredis jansson libcrypto libmaxminddb libpcre2-8
processor_PKGS       := hiredis libmongoc-1.0 jansson
reporting_PKGS       := libmongoc-1.0 jansson zlib

PKGS        := hiredis libmongoc-1.0 jansson libcrypto libmaxminddb libpcre2-8 zlib
PKG_CFLAGS   = $(shell pkg-config --cflags $(PKGS) 2>/dev/null | sed 's/-I/-isystem /g')
pkg_libs     = $(shell pkg-config --libs $(1) 2>/dev/null) -lcivetweb -lpthread
PKG_LIBS     = $(call pkg_libs,$(PKGS))
WARN        := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
CFLAGS      ?= -O2 -g
BUILD       ?= build
ifdef SANITIZE
  SAN := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif
# ingest's default GEOIP_DB (ingest/geo.h): the country database deploy/setup.sh installs
# into .deps/; the container image builds with its own path (deploy/Containerfile).
GEOIP_DB_DEFAULT ?= $(CURDIR)/.deps/geoip/node_modules/@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb
# A program's sources find their own headers beside them; tests see every program's.
ALL_CFLAGS   = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(WARN) $(SAN) $(CFLAGS) \
               $(PKG_CFLAGS) -Icommon -DGEOIP_DB_DEFAULT='"$(GEOIP_DB_DEFAULT)"'
TEST_INC    := -Iingest -Iprocessor -Ireporting

COMMON_SRC  := $(wildcard common/*.c)
COMMON_OBJ  := $(COMMON_SRC:%.c=$(BUILD)/obj/%.o)
SERVICES    := ingest processor reporting
# tests/ by kind: unit/ (cmocka), it/ (integration scripts and their harness), fuzz/,
# bench/, browser/, and tools/ (helpers the tests and benchmarks run). Every binary is built
# as $(BUILD)/tests/<name>, whichever folder its source is in.
UNIT_SRC    := $(wildcard tests/unit/test_*.c)
# Every source of tests/ lives in a folder of its kind (docs/development.md): a file left at
# the top would be neither built nor checked, so it stops the build.
ifneq ($(wildcard tests/*.c tests/*.h tests/*.sh),)
  $(error $(wildcard tests/*.c tests/*.h tests/*.sh): tests/ holds folders by kind only (unit/, it/, fuzz/, bench/, browser/, tools/))
endif
UNIT_BIN    := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
# it_images.sh builds and runs the container images: once, in `make images-test`.
IT_SCRIPTS  := $(filter-out tests/it/it_images.sh,$(sort $(wildcard tests/it/it_*.sh)))
FORMAT_SRC   = $(wildcard common/*.[ch] ingest/*.[ch] processor/*.[ch] reporting/*.[ch] \
                          tests/*/*.[ch])

# Sources a program's build generates, in $(BUILD)/gen/: the files it serves, embedded (see
# the embedding rules below), ingest's referrer list (referers, below) and its User-Agent rules
# (uap_rules, below).
ingest_EMBED         := tracker_js
ingest_GEN           := $(ingest_EMBED) referers uap_rules
reporting_GEN        := dashboard_html dashboard_css dashboard_js uplot_js uplot_css favicon_ico

# The sources of program $(1) (variant objects under $(2)): its folder, its common list and
# what its build generates.
prog_obj = $(patsubst %.c,$(BUILD)/$(2)/%.o,$(wildcard $(1)/*.c) $($(1)_COMMON:%=common/%.c)) \
           $($(1)_GEN:%=$(BUILD)/$(2)/gen/%.o)

.PHONY: all test unit it check-shards asan check-test valgrind fuzz k8s-check images images-test check setup run format \
        format-check docs-check clean bench bench-cost
.DELETE_ON_ERROR:

# The helpers the tests and benchmarks run (tests/tools/), and the benchmark's own programs
# (tests/bench/): the do-nothing baseline server, the raw writes, a peer's aggregation.
TOOLS       := $(BUILD)/tests/freeport $(BUILD)/tests/mongoq $(BUILD)/tests/loadgen \
               $(BUILD)/tests/memfill $(BUILD)/tests/tabs $(BUILD)/tests/rcluster_cli \
               $(BUILD)/tests/qnames $(BUILD)/tests/assigner
BENCH_TOOLS := $(BUILD)/tests/nothing $(BUILD)/tests/rawinsert $(BUILD)/tests/aggpeer \
               $(BUILD)/tests/uacost

# Preloaded by it_starvation.sh (LD_PRELOAD): built without sanitizers, which a preloaded
# library may not carry.
PRELOADS    := $(BUILD)/tests/eintr_retry.so

all: $(SERVICES:%=$(BUILD)/%) $(SERVICES:%=$(BUILD)/%-fault) $(TOOLS) $(BENCH_TOOLS) $(PRELOADS)

$(BUILD)/tests/%.so: tests/tools/%.c
	@mkdir -p $(@D)
	$(CC) -std=c11 $(WARN) $(CFLAGS) -shared -fPIC $< -o $@ -ldl

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj/tests/%.o: tests/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(TEST_INC) -MMD -MP -c $< -o $@

# Embedded files. $(BUILD)/gen/NAME.c holds the bytes of file EMBED_NAME as a C array (od
# and sed: nothing but coreutils) in `const struct http_asset NAME` (common/http_reply.h), with its
# Content-Type (by the file's extension: .js, .css, .html, .ico) and a strong ETag, the first 16
# hex digits of the bytes' sha256; the program serves it with http_send_asset(), choosing
# its Cache-Control. Each program's header declares its assets (ingest/tracker.h,
# reporting/dashboard.h).
EMBED_tracker_js     := $(BUILD)/gen/tracker.min.js
EMBED_dashboard_html := reporting/dashboard/index.html
EMBED_dashboard_css  := reporting/dashboard/app.css
EMBED_dashboard_js   := reporting/dashboard/app.js
EMBED_uplot_js       := $(BUILD)/gen/uPlot.iife.min.js
EMBED_uplot_css      := $(BUILD)/gen/uPlot.min.css
EMBED_favicon_ico    := reporting/dashboard/favicon.ico

define embed_rule
$(BUILD)/gen/$(1).c: $(EMBED_$(1)) Makefile
	@mkdir -p $$(@D)
	@echo "embed $$< -> $$@"; { case $$< in \
	  *.js) type='application/javascript; charset=utf-8' ;; \
	  *.css) type='text/css; charset=utf-8' ;; \
	  *.html) type='text/html; charset=utf-8' ;; \
	  *.ico) type='image/x-icon' ;; \
	  *) echo "embed: no Content-Type for $$<" >&2; exit 1 ;; \
	  esac; \
	  echo '/* Generated by the Makefile from $$<: do not edit. */'; \
	  echo '#include "http.h"'; \
	  echo 'static const char bytes[] = {'; \
	  od -An -v -tx1 $$< | sed -e 's/ \([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo '};'; \
	  echo "const struct http_asset $(1) = {"; \
	  echo "    .content_type = \"$$$$type\", .body = bytes, .len = sizeof bytes,"; \
	  echo "    .etag = \"\\\"$$$$(sha256sum <$$< | cut -c1-16)\\\"\","; \
	  echo '};'; \
	} >$$@
endef
$(foreach a,$(ingest_EMBED) $(reporting_GEN),$(eval $(call embed_rule,$(a))))

# ingest's User-Agent rules (ingest/ua.h): Debian's uap-core regexes.yaml (deploy/setup.sh),
# taken only when its sha256 is the one below, as C tables (ingest/uap_gen.py, python3-yaml);
# and, for tests/unit/test_ua.c, uap-core's own test cases of browsers and systems.
UAP_DIR          ?= /usr/share/uap-core
UAP_VERSION      := 0.16.0 (Debian 1:0.16.0-1)
UAP_SHA256       := d20759b10da60dc1fe2f68c334122ee930279fff75ad0a59e305a8eff2821034
$(BUILD)/gen/uap_rules.c: ingest/uap_gen.py Makefile $(wildcard $(UAP_DIR)/regexes.yaml)
	@mkdir -p $(@D)
	@f=$(UAP_DIR)/regexes.yaml; [ -f "$$f" ] || { \
	    echo "uap-core $(UAP_VERSION) is needed to build ingest: $$f is missing" \
	         "(deploy/setup.sh)" >&2; exit 1; }; \
	echo "$(UAP_SHA256)  $$f" | sha256sum --check --status || { \
	    echo "$$f is not uap-core $(UAP_VERSION)'s: its sha256 is not $(UAP_SHA256)" \
	         "(deploy/setup.sh)" >&2; exit 1; }; \
	python3 ingest/uap_gen.py rules "$$f" $@
$(BUILD)/gen/uap_cases.c: ingest/uap_gen.py Makefile $(BUILD)/gen/uap_rules.c
	@mkdir -p $(@D)
	python3 ingest/uap_gen.py tests $(UAP_DIR)/tests/test_ua.yaml $(UAP_DIR)/tests/test_os.yaml $@
$(BUILD)/obj/gen/uap_%.o $(BUILD)/obj-fault/gen/uap_%.o: ALL_CFLAGS += -Iingest -Itests/unit
$(BUILD)/tests/test_ua: $(BUILD)/obj/gen/uap_cases.o

# The browser tracker: ingest/tracker.js, minified by esbuild (Debian's package, version
# ESBUILD_VERSION: another version may write other bytes) for ES2017.
ESBUILD_VERSION := 0.17.0
$(BUILD)/gen/tracker.min.js: ingest/tracker.js Makefile
	@mkdir -p $(@D)
	@v=$$(esbuild --version 2>/dev/null); [ "$$v" = "$(ESBUILD_VERSION)" ] || { \
	    echo "esbuild $(ESBUILD_VERSION) is needed to build ingest (deploy/setup.sh);" \
	         "found: $${v:-none}" >&2; exit 1; }
	esbuild --minify --target=es2017 --log-level=warning $< >$@

# Snowplow's referrer list, as Debian's ruby-referer-parser ships it (deploy/setup.sh), taken
# only when its sha256 is the one below and turned by jq into ingest's table of known
# referrers (ingest/sources.h): one row per domain, its "www." dropped and lower-cased, its path
# ("/" when none), the source's name and medium; sorted by host (byte order, for bsearch()),
# then the longest path first, as the list's own parser orders them.
REFERERS_JSON    ?= /usr/share/rubygems-integration/all/gems/referer-parser-0.3.0/data/referers.json
REFERERS_SHA256  := 2cd7c83123670a354f9fc400154e89cef05671dbe700a4119d9d22e657bb0603
REFERERS_JQ      := [to_entries[] | .key as $$m | .value | to_entries[] | .key as $$n \
                    | .value.domains[] | split("/") as $$d \
                    | {h: ($$d[0] | ascii_downcase | sub("^www[.]"; "")), \
                       p: ("/" + ($$d[1:] | join("/"))), n: $$n, m: $$m}] | unique \
                    | sort_by(.h, (.p | length | -.)) | .[] \
                    | "    {\(.h | @json), \(.p | @json), \(.n | @json), \(.m | @json)},"
$(BUILD)/obj/gen/referers.o $(BUILD)/obj-fault/gen/referers.o: ALL_CFLAGS += -Iingest
$(BUILD)/gen/referers.c: $(wildcard $(REFERERS_JSON)) Makefile
	@mkdir -p $(@D)
	@f=$(REFERERS_JSON); [ -f "$$f" ] || { \
	    echo "ruby-referer-parser's referers.json is needed to build ingest: $$f is missing" \
	         "(deploy/setup.sh)" >&2; exit 1; }; \
	echo "$(REFERERS_SHA256)  $$f" | sha256sum --check --status || { \
	    echo "$$f is not the pinned referrer list: its sha256 is not $(REFERERS_SHA256)" \
	         "(deploy/setup.sh)" >&2; exit 1; }; \
	echo "gen $$f -> $@"; { \
	  echo '/* Generated by the Makefile from $(REFERERS_JSON): do not edit. */'; \
	  echo '#include "sources.h"'; \
	  echo 'const struct sources_known sources_known[] = {'; \
	  jq -r '$(REFERERS_JQ)' "$$f"; \
	  echo '};'; \
	  echo 'const size_t sources_known_n = sizeof sources_known / sizeof sources_known[0];'; \
	} >$@

# uPlot, the dashboard's chart (npm's uplot, put in .deps/ by deploy/setup.sh): its minified
# script and style, each taken only when its sha256 is the one below.
UPLOT_VERSION    := 1.6.32
UPLOT_DIST       := .deps/uplot/node_modules/uplot/dist
UPLOT_JS_SHA256  := 19c8d4c6ad88929a79f4ae49d6f7161566dfd0ba3d15cc495e974f787eb78f1f
UPLOT_CSS_SHA256 := df630c6a8d6f8eeaff264b50f73ce5b114f646ffd9a0bb74f049b0a00135fa04
$(BUILD)/gen/uPlot.iife.min.js: UPLOT_SHA256 := $(UPLOT_JS_SHA256)
$(BUILD)/gen/uPlot.min.css: UPLOT_SHA256 := $(UPLOT_CSS_SHA256)
$(BUILD)/gen/uPlot.iife.min.js: $(wildcard $(UPLOT_DIST)/uPlot.iife.min.js)
$(BUILD)/gen/uPlot.min.css: $(wildcard $(UPLOT_DIST)/uPlot.min.css)
$(BUILD)/gen/uPlot.iife.min.js $(BUILD)/gen/uPlot.min.css: $(BUILD)/gen/%: Makefile
	@mkdir -p $(@D)
	@f=$(UPLOT_DIST)/$*; [ -f "$$f" ] || { \
	    echo "uPlot $(UPLOT_VERSION) is needed to build reporting: $$f is missing" \
	         "(deploy/setup.sh)" >&2; exit 1; }; \
	echo "$(UPLOT_SHA256)  $$f" | sha256sum --check --status || { \
	    echo "$$f is not uPlot $(UPLOT_VERSION)'s: its sha256 is not $(UPLOT_SHA256)" \
	         "(deploy/setup.sh)" >&2; exit 1; }; \
	cp "$$f" $@

# (One rule per folder: a pattern rule with two targets makes both with one run.)
$(BUILD)/obj/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/obj-fault/gen/%.o: $(BUILD)/gen/%.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

# Every common/ module, for the tests and tools (the linker takes what each one uses).
$(BUILD)/libcommon.a: $(COMMON_OBJ)
	$(AR) rcs $@ $^

# $(BUILD)/lib<program>.a: a program's own modules without its main(), for the unit tests
# of those modules.
define service_rule
$(BUILD)/$(1): $(call prog_obj,$(1),obj)
	$$(CC) $$(SAN) $$(LDFLAGS) $$^ -o $$@ $$(call pkg_libs,$$($(1)_PKGS))

$(BUILD)/lib$(1).a: $(patsubst %.c,$(BUILD)/obj/%.o,$(filter-out $(1)/main.c,$(wildcard $(1)/*.c))) \
                   $($(1)_GEN:%=$(BUILD)/obj/gen/%.o)
	$$(AR) rcs $$@ $$^
endef
$(foreach s,$(SERVICES),$(eval $(call service_rule,$(s))))

# A test binary: its objects, then the libraries among its prerequisites.
define link_test
@mkdir -p $(@D)
$(CC) $(SAN) $(LDFLAGS) $(filter %.o,$^) $(filter %.a,$^) -o $@ $(PKG_LIBS)
endef

# The fault-injection variants, for tests only: <program>-fault, every object built with
# -DFAULT_INJECTION (the failpoints) and linked with tests/it/fault.c, whose wrappers make
# the N-th allocation (ours, jansson's or libbson's), Redis or MongoDB call fail
# (FAULT_INJECT). The programs above carry neither. Each is linked with every library, as
# tests/it/fault.c wraps them all.
FAULT_WRAP := malloc calloc realloc strdup redisConnectWithTimeout redisCommand \
              redisCommandArgv redisGetReply mongoc_collection_insert_many \
              mongoc_collection_insert_one mongoc_collection_update_one \
              mongoc_collection_update_many mongoc_client_command_simple \
              mongoc_database_write_command_with_opts mongoc_bulk_operation_execute \
              mongoc_collection_count_documents mongoc_cursor_next mongoc_cursor_error \
              json_set_alloc_funcs
FAULT_LDFLAGS := $(foreach f,$(FAULT_WRAP),-Wl,--wrap=$(f))

$(BUILD)/obj-fault/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) $(TEST_INC) -DFAULT_INJECTION -MMD -MP -c $< -o $@

define fault_rule
$(BUILD)/$(1)-fault: $(call prog_obj,$(1),obj-fault) $(BUILD)/obj-fault/tests/it/fault.o \
                    $(BUILD)/obj-fault/tests/it/cmdlog.o
	$$(CC) $$(SAN) $$(LDFLAGS) $$(FAULT_LDFLAGS) $$^ -o $$@ $$(PKG_LIBS)
endef
$(foreach s,$(SERVICES),$(eval $(call fault_rule,$(s))))
# ingest-fault's clock of the salt's day, which FAULT_SALT_DAYS moves (tests/it/fault_clock.c).
$(BUILD)/ingest-fault: $(BUILD)/obj-fault/tests/it/fault_clock.o
$(BUILD)/ingest-fault: FAULT_LDFLAGS += -Wl,--wrap=salt_clock_ms

# Built against libcommon.a: the do-nothing server (the programs' HTTP stack), memfill (the
# data of the memory checks, ids as common/rollup_doc.h makes them) and rawinsert (the user
# hashes of a site-hour, rollup_user_hash()); rcluster_cli (common/rcluster.h's handle, driven
# by tests/it/it_rcluster.sh); qnames (the queue shards' names, common/qshard.h). assigner:
# the processor's visit assignment alone (libprocessor.a, processor/assign.h).
$(BUILD)/tests/nothing $(BUILD)/tests/memfill $(BUILD)/tests/rawinsert \
    $(BUILD)/tests/rcluster_cli $(BUILD)/tests/qnames: $(BUILD)/libcommon.a
$(BUILD)/tests/assigner: $(BUILD)/libprocessor.a $(BUILD)/libcommon.a
# uacost: ingest's User-Agent parser and country lookup alone (libingest.a).
$(BUILD)/tests/uacost: $(BUILD)/libingest.a $(BUILD)/libcommon.a

$(TOOLS): $(BUILD)/tests/%: $(BUILD)/obj/tests/tools/%.o
	$(link_test)

$(BENCH_TOOLS): $(BUILD)/tests/%: $(BUILD)/obj/tests/bench/%.o
	$(link_test)

# The fuzz target also runs reporting's parsers (libreporting.a, before what it uses).
$(BUILD)/tests/fuzz_event: $(BUILD)/obj/tests/fuzz/fuzz_event.o $(BUILD)/libreporting.a \
                           $(BUILD)/libcommon.a
	$(link_test)

# test_<module>_WRAP: the library calls a unit test fakes at link time (-Wl,--wrap).
test_rconn_WRAP := redisConnectWithTimeout redisSetTimeout
test_salt_WRAP := rconn_command
test_dbread_WRAP := store_client_pop store_client_push store_collection \
                    mongoc_collection_find_with_opts mongoc_collection_aggregate \
                    mongoc_cursor_next mongoc_cursor_error mongoc_cursor_set_batch_size \
                    mongoc_cursor_destroy mongoc_collection_destroy
$(BUILD)/tests/test_%: $(BUILD)/obj/tests/unit/test_%.o $(SERVICES:%=$(BUILD)/lib%.a) \
                       $(BUILD)/libcommon.a
	@mkdir -p $(@D)
	$(CC) $(SAN) $(LDFLAGS) $(foreach f,$(test_$*_WRAP),-Wl,--wrap=$(f)) $^ -o $@ -lcmocka \
	    $(PKG_LIBS)

# Unit tests that make allocations fail (tests/unit/failalloc.c): linked with its wrappers.
FAILALLOC_TESTS := test_event test_envelope test_batch test_scan
FAILALLOC_WRAP  := $(foreach f,malloc calloc realloc strdup free,-Wl,--wrap=$(f))
$(FAILALLOC_TESTS:%=$(BUILD)/tests/%): $(BUILD)/obj/tests/unit/failalloc.o
$(FAILALLOC_TESTS:%=$(BUILD)/tests/%): LDFLAGS += $(FAILALLOC_WRAP)

unit: $(UNIT_BIN)
	@failed=0; for t in $(UNIT_BIN); do echo "== $$t"; $$t || failed=1; done; exit $$failed

# IT_SKIP: scripts to leave out of this run; IT_MORE: more runs, after the others on the
# command line and alongside them in time (run_it.sh: VAR=value applies to the scripts
# after it). make check uses both, below.
IT_SKIP ?=
IT_MORE ?=
it: all
	@BUILD=$(BUILD) tests/it/run_it.sh $(filter-out $(IT_SKIP),$(IT_SCRIPTS)) $(IT_MORE)

test: unit it

# The pipeline, rollup, scaling and fault scripts with four queue shards (T_QUEUE_SHARDS: every
# ingest and processor they start gets QUEUE_SHARDS=4; tests/it/lib.sh): alone here, and in
# make check's check-test (under ASan) alongside the other scripts.
SHARDS_IT := $(addprefix tests/it/,it_pipeline.sh it_rollup.sh it_scaling.sh it_fault_kill.sh)
check-shards: all
	@BUILD=$(BUILD) T_QUEUE_SHARDS=4 tests/it/run_it.sh $(SHARDS_IT)

asan:
	$(MAKE) $(ASAN_FLAGS) test

# make check runs each integration script once, where it finds what the others cannot, all in
# one pool (run_it.sh: three at a time, so no step waits for the slowest script of another):
# under ASan and UBSan (build-asan/: the same stored-once counts and figures, plus every
# error path's memory and leaks, the fault-injection sweep's above all), every script but
# the five whose bounds ASan's shadow memory and speed would distort, which run on the
# release build: the starvation test (wall-clock bounds; it_hostile.sh runs the same
# timeouts under ASan), the memory test (reporting's own resident memory; its reads run
# under ASan in it_ranges.sh and it_explorer.sh) and the three browser tests (mostly
# Chromium's time; the routes they call run under ASan in it_cors.sh, it_tracker.sh,
# it_ranges.sh and it_explorer.sh); and the queue-shards subset (SHARDS_IT, four shards) on
# the release build too (the same scripts run under ASan with one shard, and the shard code
# under ASan in it_shards.sh and it_cluster_pipeline.sh: the pool is CPU-bound, and ASan
# costs two to three times the CPU). The release build runs most scripts under valgrind
# (below) and in the container images (images-test). `make test` and `make asan` run
# everything, each build.
ASAN_BUILD := build-asan
ASAN_FLAGS := BUILD=$(ASAN_BUILD) SANITIZE=address,undefined CFLAGS='-O1 -g'
PLAIN_IT   := $(addprefix tests/it/,it_starvation.sh it_memory.sh it_browser.sh it_dashboard.sh \
                it_dashboard_filters.sh)
check-test: all
	$(MAKE) unit
	$(MAKE) $(ASAN_FLAGS) all unit
	@BUILD=$(BUILD) tests/it/run_it.sh $(PLAIN_IT) BUILD=$(ASAN_BUILD) \
	    $(filter-out $(PLAIN_IT),$(IT_SCRIPTS)) BUILD=$(BUILD) T_QUEUE_SHARDS=4 $(SHARDS_IT)

# valgrind runs every integration script that walks some path of the programs once, and
# leaves out those whose point is the same paths again under time, load, races, faults or a
# browser: each of those runs in `make test` and under ASan, UBSan and LeakSanitizer in
# `make asan`, which find the same memory errors and leaks at a tenth of valgrind's cost.
# Left out: the poison test, whose 17 MB document takes minutes under valgrind (its dead-letter
# paths run under valgrind in it_pipeline.sh); the starvation and hostile-client tests, whose
# bounds are seconds (it_keepalive.sh runs the idle and keep-alive closes under valgrind);
# the fault-injection sweep, a hundred and more runs of the pipeline; the race, lost-reply,
# frozen-processor, SIGTERM, rollup-crash, duplicate-race and scaling scripts, each many
# processor runs of the paths it_pipeline.sh, it_fault_kill.sh (recovery, takeover) and
# it_signals.sh (signals, draining) run under valgrind; the shard-key log, a test build's
# command recorder over the same reads and writes; the two browser tests, whose time is
# mostly Chromium's (their routes run under valgrind in it_cors.sh, it_tracker.sh and
# it_explorer.sh); the cluster failover test, whose steady load processors slowed by valgrind
# cannot keep up with (the cluster paths run under valgrind in it_cluster_pipeline.sh); the
# visit figures' crash and exactness tests (it_visit_rollup.sh, it_figures.sh: processors
# killed mid-batch, the paths it_pipeline.sh's events walk under valgrind, visits included,
# and it_visits.sh's script calls; the filters' and breakdowns' scan of the raw events runs
# under valgrind in it_goals.sh, against the other reads); and
# the memory test, whose bounds are reporting's resident memory, which valgrind's own memory
# hides; and the export test, twenty exports of 15 MB (two minutes under valgrind, where it
# passed clean; it runs under ASan, UBSan and LeakSanitizer in make check).
VALGRIND_IT := $(filter-out $(addprefix tests/it/,it_fault_poison.sh it_starvation.sh \
                 it_hostile.sh it_fault_inject.sh it_fault_race.sh it_fault_dead.sh \
                 it_fault_stop.sh it_fault_sigterm.sh it_rollup.sh it_idempotent.sh \
                 it_scaling.sh it_shardkeys.sh it_browser.sh it_dashboard.sh it_dashboard_filters.sh \
                 it_cluster_fault.sh it_memory.sh it_visit_rollup.sh it_figures.sh \
                 it_export.sh),$(IT_SCRIPTS))
valgrind: all
	@BUILD=$(BUILD) VALGRIND=1 tests/it/run_it.sh $(VALGRIND_IT)

# libFuzzer (clang) over the event validator, envelope codec, timestamp and query parsers,
# reporting's GET /events parameters and cursor and its READ_TOKENS parser,
# under ASan and UBSan, for FUZZ_SECONDS, starting from the seed corpus in
# tests/fuzz/corpus/.
# Built by the rules above, with clang and the fuzzer's sanitizers, in build-fuzz/.
FUZZ_SECONDS ?= 60
FUZZ_BUILD   := build-fuzz

fuzz:
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=clang SANITIZE=fuzzer,address,undefined CFLAGS='-O1 -g' \
	    $(FUZZ_BUILD)/tests/fuzz_event
	@mkdir -p $(FUZZ_BUILD)/corpus
	$(FUZZ_BUILD)/tests/fuzz_event -max_total_time=$(FUZZ_SECONDS) -timeout=5 -rss_limit_mb=2048 \
	    -artifact_prefix=$(FUZZ_BUILD)/ -print_final_stats=1 $(FUZZ_BUILD)/corpus \
	    tests/fuzz/corpus

# Container images (podman, from a debootstrap base): build them; build and run them.
images:
	deploy/images.sh

images-test: all
	@BUILD=$(BUILD) tests/it/run_it.sh tests/it/it_images.sh

# The Kubernetes manifests, offline: yamllint, kustomize render, schemas, required fields.
k8s-check:
	deploy/kubernetes/validate.sh

setup:
	@deploy/setup.sh

# Each step's time and the whole, printed as it goes (the budget here is 15 minutes). Its
# builds (release, ASan, the unit tests, the fuzzer) use CHECK_JOBS jobs, one per CPU by
# default: built one file at a time they were about two minutes of it.
CHECK_JOBS ?= $(shell nproc 2>/dev/null || echo 2)
check:
	@start=$$(date +%s); \
	for step in setup format-check docs-check k8s-check check-test images-test valgrind fuzz; do \
	    t=$$(date +%s); \
	    $(MAKE) -j$(CHECK_JOBS) $$step || { echo "make check: $$step FAILED after $$(( $$(date +%s) - start )) s"; exit 1; }; \
	    echo "make check: $$step took $$(( $$(date +%s) - t )) s"; \
	done; \
	echo "make check: passed in $$(( $$(date +%s) - start )) s"

run: setup
	$(MAKE) all
	deploy/run-local.sh

# Benchmarks against servers started on free ports; overwrites docs/benchmarks.md.
bench: setup
	$(MAKE) all
	@BUILD=$(BUILD) tests/bench/bench.sh

# The instruction counts alone (tests/bench/callgrind.sh, under a minute): prints them and
# rewrites their rows (C.*) in docs/benchmarks.md, next to the previous run's.
bench-cost: setup
	$(MAKE) all
	@BUILD=$(BUILD) tests/bench/callgrind.sh --update

format:
	clang-format -i $(FORMAT_SRC)

format-check:
	clang-format --dry-run -Werror $(FORMAT_SRC)
	printf '%s\n' tests/*/*.sh deploy/*.sh deploy/kubernetes/*.sh .ci/run | \
	    xargs -P 2 -n 8 shellcheck -x

# The documentation's links and the repository paths named in it and in code comments.
docs-check:
	python3 tests/tools/linkcheck.py

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
