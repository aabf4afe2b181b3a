# hanami - PGXS build.
#
#   make && sudo make install     build and install the extension
#   make unit                     build and run the engine's C unit tests
#   make installcheck             pg_regress (+ TAP) against a running server
#
# The whole suite on a throwaway cluster: t/run-all.sh (see README.md).

EXTENSION = hanami
EXTVERSION = 0.1.0

MODULE_big = hanami
CORE_SRCS = $(sort $(wildcard src/core/*.c))
PG_SRCS = $(sort $(wildcard src/pg/*.c))
OBJS = $(CORE_SRCS:.c=.o) $(PG_SRCS:.c=.o)

DATA_built = sql/$(EXTENSION)--$(EXTVERSION).sql

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

EXTRA_CLEAN = src/core/tests/test_core src/core/tests/*.o

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

sql/$(EXTENSION)--$(EXTVERSION).sql: sql/$(EXTENSION).sql
	cp $< $@

# Engine unit tests: plain C, no PostgreSQL.
UNIT_CFLAGS = -std=gnu11 -O2 -g -Wall -Wextra -fopenmp-simd -pthread -Isrc
UNIT_SRCS = $(CORE_SRCS) $(sort $(wildcard src/core/tests/*.c))

src/core/tests/test_core: $(UNIT_SRCS) $(wildcard src/core/*.h src/core/tests/*.h)
	$(CC) $(UNIT_CFLAGS) -o $@ $(UNIT_SRCS) -lm

.PHONY: unit
unit: src/core/tests/test_core
	src/core/tests/test_core
