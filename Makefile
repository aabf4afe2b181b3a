# hanami - PGXS build.
#
#   make && sudo make install     build and install the extension
#   make unit                     build and run the engine's C unit tests
#   make fuzz                     fuzz the image validators and the JSON reader (clang)
#   make installcheck             pg_regress (+ TAP) against a running server
#
# The whole suite on a throwaway cluster: t/run-all.sh (see README.md).

EXTENSION = hanami
EXTVERSION = 0.2.0

MODULE_big = hanami
# src/core: the shared engine, and one folder per network kind (src/core/dense,
# src/core/hanami, ...); tests/ and fuzz/ hold programs, not engine code.
CORE_SRCS = $(sort $(filter-out src/core/tests/% src/core/fuzz/%,\
	$(wildcard src/core/*.c src/core/*/*.c)))
CORE_HDRS = $(filter-out src/core/tests/% src/core/fuzz/%,\
	$(wildcard src/core/*.h src/core/*/*.h))
PG_SRCS = $(sort $(wildcard src/pg/*.c))
OCL_SRCS = $(sort $(wildcard src/opencl/*.c))
OBJS = $(CORE_SRCS:.c=.o) $(PG_SRCS:.c=.o) $(OCL_SRCS:.c=.o)

# sql/hanami.sql is the install script of the version in development; it is
# copied to hanami--$(EXTVERSION).sql.  Released versions' install scripts and
# every upgrade script are checked in and never edited.
DATA_built = sql/$(EXTENSION)--$(EXTVERSION).sql
DATA = $(filter-out sql/$(EXTENSION)--$(EXTVERSION).sql,$(wildcard sql/$(EXTENSION)--*.sql))

REGRESS = $(basename $(notdir $(sort $(wildcard sql/[0-9]*.sql))))
REGRESS_OPTS = --inputdir=. --load-extension=$(EXTENSION)
TAP_TESTS = 1
ISOLATION = $(basename $(notdir $(sort $(wildcard specs/*.spec))))
ISOLATION_OPTS = --load-extension=$(EXTENSION)

# Portable code: no -march=native; hot loops use runtime dispatch.
PG_CFLAGS = -fopenmp-simd -pthread -Wall -Wno-declaration-after-statement
PG_CPPFLAGS = -I$(srcdir)/src -DHANAMI_VERSION_STR='"$(EXTVERSION)"'

# compute threads (src/core/pool.c)
SHLIB_LINK += -pthread
# OpenCL backend (src/opencl): the ICD loader finds the drivers at run time
SHLIB_LINK += -lOpenCL

EXTRA_CLEAN = src/core/tests/test_core src/core/tests/*.o src/core/fuzz/build
EXTRA_CLEAN += src/opencl/kernels.inc src/opencl/tests/test_opencl bench/hanami_engine bench/opencl_engine

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

sql/$(EXTENSION)--$(EXTVERSION).sql: sql/$(EXTENSION).sql
	cp $< $@

# Engine unit tests: plain C, no PostgreSQL.
UNIT_CFLAGS = -std=gnu11 -O2 -g -Wall -Wextra -fopenmp-simd -pthread -Isrc
UNIT_SRCS = $(CORE_SRCS) $(sort $(wildcard src/core/tests/*.c))

src/core/tests/test_core: $(UNIT_SRCS) $(CORE_HDRS) $(wildcard src/core/tests/*.h)
	$(CC) $(UNIT_CFLAGS) -o $@ $(UNIT_SRCS) -lm

# PGXS does not track headers: rebuild every object when any header changes,
# so a changed struct can never mix with stale objects.
ALL_HDRS = $(CORE_HDRS) $(wildcard src/pg/*.h src/opencl/*.h)
$(OBJS) $(OBJS:.o=.bc): $(ALL_HDRS)

# kernels/*.cl as one C string literal, included by src/opencl/ocl_source.c
CL_SRCS = $(sort $(wildcard kernels/*.cl))
src/opencl/kernels.inc: $(CL_SRCS) src/opencl/embed.sh
	$(SHELL) src/opencl/embed.sh $(CL_SRCS) > $@.tmp && mv $@.tmp $@
src/opencl/ocl_source.o src/opencl/ocl_source.bc: src/opencl/kernels.inc

# OpenCL parity tests against the CPU twins (on PoCL when no GPU is there)
OCL_TEST_SRCS = $(CORE_SRCS) $(OCL_SRCS) src/opencl/tests/test_opencl.c
src/opencl/tests/test_opencl: $(OCL_TEST_SRCS) src/opencl/kernels.inc $(CORE_HDRS) $(wildcard src/opencl/*.h)
	$(CC) $(UNIT_CFLAGS) -o $@ $(OCL_TEST_SRCS) -lOpenCL -lm

# Engines without PostgreSQL that the benchmarks drive (bench/README.md):
# built by `make unit` too, so they cannot fall behind the engine.
BENCH_BINS = bench/hanami_engine bench/opencl_engine
bench/hanami_engine: bench/hanami_engine.c $(CORE_SRCS) $(CORE_HDRS)
	$(CC) $(UNIT_CFLAGS) -o $@ bench/hanami_engine.c $(CORE_SRCS) -lm
bench/opencl_engine: bench/opencl_engine.c $(CORE_SRCS) $(OCL_SRCS) src/opencl/kernels.inc $(CORE_HDRS) $(wildcard src/opencl/*.h)
	$(CC) $(UNIT_CFLAGS) -o $@ bench/opencl_engine.c $(CORE_SRCS) $(OCL_SRCS) -lOpenCL -lm
.PHONY: bench-engines
bench-engines: $(BENCH_BINS)

.PHONY: unit
unit: src/core/tests/test_core src/opencl/tests/test_opencl $(BENCH_BINS)
	src/core/tests/test_core
	src/opencl/tests/test_opencl

# Fuzzing: src/core/fuzz/fuzz_image.c feeds arbitrary bytes to NetBind (both
# kinds) and puts every accepted image through what a valid value must
# support; src/core/fuzz/fuzz_json.c feeds arbitrary text to the JSON reader
# and NetFromJson and puts every accepted network through its text form's
# round trip.  libFuzzer, AddressSanitizer (leaks included) and
# UndefinedBehaviorSanitizer; clang only, no PostgreSQL.  `make fuzz` runs
# each target for half of FUZZ_SECONDS on a copy of its checked-in seed
# corpus (corpus/, corpus_json/; new inputs stay in src/core/fuzz/build/)
# and fails on any crash, leak, sanitizer report, timeout or memory blow-up;
# the input that did it is saved under src/core/fuzz/build/artifacts/ and
# replays with
#   src/core/fuzz/build/fuzz_image FILE   (or fuzz_json FILE)
# `make fuzz-seeds` rewrites both seed corpora (after a format change).
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_DIR = src/core/fuzz
FUZZ_BUILD = $(FUZZ_DIR)/build
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS = -std=gnu11 -O1 -g -fno-omit-frame-pointer -fopenmp-simd -pthread \
	-Wall -Wno-pass-failed -Isrc $(FUZZ_SAN)
FUZZ_OBJS = $(patsubst src/core/%.c,$(FUZZ_BUILD)/%.o,$(CORE_SRCS))
# each target gets half the time, at least a second
FUZZ_EACH = $(shell s=$$(( ($(FUZZ_SECONDS) + 1) / 2 )); echo $$(( s > 0 ? s : 1 )))
FUZZ_OPTS = -max_total_time=$(FUZZ_EACH) -timeout=10 -rss_limit_mb=2048 \
	-malloc_limit_mb=1024 -max_len=32768 -print_final_stats=1
# function names and lines in sanitizer reports, when llvm-symbolizer is there
FUZZ_SYMBOLIZER = $(shell $(FUZZ_CC) -print-prog-name=llvm-symbolizer 2>/dev/null)
FUZZ_ENV = $(if $(filter /%,$(FUZZ_SYMBOLIZER)),ASAN_SYMBOLIZER_PATH=$(FUZZ_SYMBOLIZER)) \
	UBSAN_OPTIONS=print_stacktrace=1

$(FUZZ_BUILD)/%.o: src/core/%.c $(CORE_HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_BUILD)/fuzz_image: $(FUZZ_DIR)/fuzz_image.c $(FUZZ_OBJS) $(CORE_HDRS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $(FUZZ_DIR)/fuzz_image.c $(FUZZ_OBJS) -lm

$(FUZZ_BUILD)/fuzz_json: $(FUZZ_DIR)/fuzz_json.c $(FUZZ_OBJS) $(CORE_HDRS)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $(FUZZ_DIR)/fuzz_json.c $(FUZZ_OBJS) -lm

.PHONY: fuzz fuzz-seeds
fuzz: $(FUZZ_BUILD)/fuzz_image $(FUZZ_BUILD)/fuzz_json
	rm -rf $(FUZZ_BUILD)/corpus $(FUZZ_BUILD)/corpus_json $(FUZZ_BUILD)/artifacts
	mkdir -p $(FUZZ_BUILD)/corpus $(FUZZ_BUILD)/corpus_json $(FUZZ_BUILD)/artifacts
	cp $(FUZZ_DIR)/corpus/* $(FUZZ_BUILD)/corpus/
	cp $(FUZZ_DIR)/corpus_json/* $(FUZZ_BUILD)/corpus_json/
	$(FUZZ_ENV) $(FUZZ_BUILD)/fuzz_image $(FUZZ_OPTS) \
		-artifact_prefix=$(abspath $(FUZZ_BUILD))/artifacts/ $(FUZZ_BUILD)/corpus
	$(FUZZ_ENV) $(FUZZ_BUILD)/fuzz_json $(FUZZ_OPTS) \
		-artifact_prefix=$(abspath $(FUZZ_BUILD))/artifacts/json- $(FUZZ_BUILD)/corpus_json

fuzz-seeds: $(CORE_SRCS) $(FUZZ_DIR)/make_seeds.c $(CORE_HDRS)
	@mkdir -p $(FUZZ_BUILD) $(FUZZ_DIR)/corpus $(FUZZ_DIR)/corpus_json
	$(CC) $(UNIT_CFLAGS) -o $(FUZZ_BUILD)/make_seeds $(FUZZ_DIR)/make_seeds.c $(CORE_SRCS) -lm
	$(FUZZ_BUILD)/make_seeds $(FUZZ_DIR)/corpus $(FUZZ_DIR)/corpus_json
