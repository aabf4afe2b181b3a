# hanami - PGXS build.
#
#   make && sudo make install     build and install the extension
#   make unit                     build and run the engine's C unit tests and
#                                 the OpenCL parity tests (a device required;
#                                 HANAMI_OPENCL_OPTIONAL=1 skips them without)
#   make fuzz                     fuzz the binary image validators (clang)
#   make installcheck             against a running server (after make install):
#                                 the regress tests that need no data sets
#                                 (REGRESS), the isolation specs and TAP
#   make installcheck-data        the regress tests that load the data sets
#                                 (REGRESS_DATA), written into data/ by
#                                 examples/datasets.py when missing
#
# The whole suite on a throwaway cluster, both regress groups included:
# t/run-all.sh (see README.md).

EXTENSION = hanami
EXTVERSION = 0.2.0

MODULE_big = hanami
CORE_SRCS = $(sort $(wildcard src/core/*.c))
PG_SRCS = $(sort $(wildcard src/pg/*.c))
OCL_SRCS = $(sort $(wildcard src/opencl/*.c))
OBJS = $(CORE_SRCS:.c=.o) $(PG_SRCS:.c=.o) $(OCL_SRCS:.c=.o)

# sql/hanami.sql is the install script of the version in development; it is
# copied to hanami--$(EXTVERSION).sql.  Released versions' install scripts and
# every upgrade script are checked in and never edited.
DATA_built = sql/$(EXTENSION)--$(EXTVERSION).sql
DATA = $(filter-out sql/$(EXTENSION)--$(EXTVERSION).sql,$(wildcard sql/$(EXTENSION)--*.sql))

# pg_regress tests (sql/NN_name.sql against expected/NN_name.out), in two
# groups.  REGRESS (`make installcheck`) needs nothing but the installed
# extension.  REGRESS_DATA (`make installcheck-data`) COPYs the CSV files
# examples/datasets.py writes into data/ (scikit-learn's bundled data sets:
# python3-sklearn), server-side, so the server's OS user must be able to
# read them.  A new test that reads data/ belongs in REGRESS_DATA.
REGRESS_DATA = 04_accuracy 07_outliers 20_fastpaths 31_grow_accuracy 40_opencl
REGRESS = $(filter-out $(REGRESS_DATA),$(basename $(notdir $(sort $(wildcard sql/[0-9]*.sql)))))
REGRESS_OPTS = --inputdir=. --load-extension=$(EXTENSION)
# the files REGRESS_DATA reads, and the interpreter that writes them
REGRESS_DATA_FILES = data/digits.csv data/wine.csv data/diabetes.csv
PYTHON ?= /usr/bin/python3
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
EXTRA_CLEAN += src/opencl/kernels.inc src/opencl/tests/test_opencl

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

sql/$(EXTENSION)--$(EXTVERSION).sql: sql/$(EXTENSION).sql
	cp $< $@

# The regress tests that load the data sets: like installcheck's pg_regress
# step (same options and output files), on REGRESS_DATA.
.PHONY: installcheck-data
installcheck-data: submake $(REGRESS_PREP)
	@for f in $(REGRESS_DATA_FILES); do \
		if [ ! -f $$f ]; then \
			echo "$$f is missing: $(PYTHON) examples/datasets.py data"; \
			$(PYTHON) examples/datasets.py data || exit 1; \
			break; \
		fi; \
	done
	$(pg_regress_installcheck) $(REGRESS_OPTS) $(REGRESS_DATA)

# Engine unit tests: plain C, no PostgreSQL.
UNIT_CFLAGS = -std=gnu11 -O2 -g -Wall -Wextra -fopenmp-simd -pthread -Isrc
UNIT_SRCS = $(CORE_SRCS) $(sort $(wildcard src/core/tests/*.c))

src/core/tests/test_core: $(UNIT_SRCS) $(wildcard src/core/*.h src/core/tests/*.h)
	$(CC) $(UNIT_CFLAGS) -o $@ $(UNIT_SRCS) -lm

# PGXS does not track headers: rebuild every object when any header changes,
# so a changed struct can never mix with stale objects.
HEADERS = $(wildcard src/core/*.h src/pg/*.h src/opencl/*.h)
$(OBJS) $(OBJS:.o=.bc): $(HEADERS)

# kernels/*.cl as one C string literal, included by src/opencl/ocl_source.c
CL_SRCS = $(sort $(wildcard kernels/*.cl))
src/opencl/kernels.inc: $(CL_SRCS) src/opencl/embed.sh
	$(SHELL) src/opencl/embed.sh $(CL_SRCS) > $@.tmp && mv $@.tmp $@
src/opencl/ocl_source.o src/opencl/ocl_source.bc: src/opencl/kernels.inc

# OpenCL parity tests against the CPU twins (on PoCL when no GPU is there),
# with the engine tests' harness.
OCL_TEST_SRCS = $(CORE_SRCS) $(OCL_SRCS) src/core/tests/harness.c src/opencl/tests/test_opencl.c
src/opencl/tests/test_opencl: $(OCL_TEST_SRCS) src/opencl/kernels.inc $(wildcard src/core/*.h src/opencl/*.h) src/core/tests/harness.h
	$(CC) $(UNIT_CFLAGS) -o $@ $(OCL_TEST_SRCS) -lOpenCL -lm

# Both programs run even when the first fails; each ends with its own
# "N passed, N failed".  The OpenCL tests require a device (PoCL will do):
# none is a failure, unless HANAMI_OPENCL_OPTIONAL=1 (in the environment or
# on the command line, `make unit HANAMI_OPENCL_OPTIONAL=1`) skips them on a
# machine without OpenCL.
.PHONY: unit
unit: src/core/tests/test_core src/opencl/tests/test_opencl
	@status=0; \
	echo src/core/tests/test_core; src/core/tests/test_core || status=1; \
	echo src/opencl/tests/test_opencl; src/opencl/tests/test_opencl || status=1; \
	exit $$status

# Fuzzing the image validators: src/core/fuzz/fuzz_image.c feeds arbitrary
# bytes to NetBind (both kinds) and puts every accepted image through what a
# valid value must support.  libFuzzer, AddressSanitizer (leaks included) and
# UndefinedBehaviorSanitizer; clang only, no PostgreSQL.  `make fuzz` runs
# for FUZZ_SECONDS on a copy of the checked-in seed corpus (new inputs stay
# in src/core/fuzz/build/corpus) and fails on any crash, leak, sanitizer
# report, timeout or memory blow-up; the input that did it is saved under
# src/core/fuzz/build/artifacts/ and replays with
#   src/core/fuzz/build/fuzz_image FILE
# `make fuzz-seeds` rewrites the seed corpus (after a format change).
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_DIR = src/core/fuzz
FUZZ_BUILD = $(FUZZ_DIR)/build
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS = -std=gnu11 -O1 -g -fno-omit-frame-pointer -fopenmp-simd -pthread \
	-Wall -Wno-pass-failed -Isrc $(FUZZ_SAN)
FUZZ_OBJS = $(patsubst src/core/%.c,$(FUZZ_BUILD)/%.o,$(CORE_SRCS))
FUZZ_OPTS = -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
	-malloc_limit_mb=1024 -max_len=32768 -print_final_stats=1
# function names and lines in sanitizer reports, when llvm-symbolizer is there
FUZZ_SYMBOLIZER = $(shell $(FUZZ_CC) -print-prog-name=llvm-symbolizer 2>/dev/null)

$(FUZZ_BUILD)/%.o: src/core/%.c $(wildcard src/core/*.h)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_BUILD)/fuzz_image: $(FUZZ_DIR)/fuzz_image.c $(FUZZ_OBJS) $(wildcard src/core/*.h)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $(FUZZ_DIR)/fuzz_image.c $(FUZZ_OBJS) -lm

.PHONY: fuzz fuzz-seeds
fuzz: $(FUZZ_BUILD)/fuzz_image
	rm -rf $(FUZZ_BUILD)/corpus $(FUZZ_BUILD)/artifacts
	mkdir -p $(FUZZ_BUILD)/corpus $(FUZZ_BUILD)/artifacts
	cp $(FUZZ_DIR)/corpus/* $(FUZZ_BUILD)/corpus/
	$(if $(filter /%,$(FUZZ_SYMBOLIZER)),ASAN_SYMBOLIZER_PATH=$(FUZZ_SYMBOLIZER)) \
	UBSAN_OPTIONS=print_stacktrace=1 \
	$(FUZZ_BUILD)/fuzz_image $(FUZZ_OPTS) \
		-artifact_prefix=$(abspath $(FUZZ_BUILD))/artifacts/ $(FUZZ_BUILD)/corpus

fuzz-seeds: $(CORE_SRCS) $(FUZZ_DIR)/make_seeds.c $(wildcard src/core/*.h)
	@mkdir -p $(FUZZ_BUILD) $(FUZZ_DIR)/corpus
	$(CC) $(UNIT_CFLAGS) -o $(FUZZ_BUILD)/make_seeds $(FUZZ_DIR)/make_seeds.c $(CORE_SRCS) -lm
	$(FUZZ_BUILD)/make_seeds $(FUZZ_DIR)/corpus
