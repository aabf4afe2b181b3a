-- The growing "hanami" kind: to_train/to_skip by cell (a frozen cell keeps
-- the bytes of the sections ending in it and of its biases, the others
-- learn through it), their errors, and compute threads (hanami.threads):
-- the same bytes with 1, 2 and 3 threads, growth included, also with
-- frozen cells and with reduction.
\set VERBOSITY terse
SET client_min_messages = warning;
-- three threads even on a machine with fewer CPUs
SET hanami.max_threads = 4;

CREATE TABLE gc_rows AS
SELECT i AS id,
       ARRAY(SELECT (((i * j * 37 + j * (i % 3)) % 23) * (1 + i % 3))::real
             FROM generate_series(1, 6) j) AS x,
       i % 3 AS label
FROM generate_series(1, 240) i;

-- a little-endian uint32 of an image
CREATE FUNCTION gc_u32(b bytea, o int) RETURNS bigint IMMUTABLE LANGUAGE sql AS $$
  SELECT get_byte(b, o)::bigint + 256 * get_byte(b, o + 1) + 65536 * get_byte(b, o + 2)
         + 16777216::bigint * get_byte(b, o + 3) $$;

-- What cell c learns, as bytes of the image (src/core/hanami/hanami.h: the
-- 72-byte header, the 320-byte growth header, 64 bytes a cell, 24 a neuron,
-- then 800-byte blocks with their target cell at offset 16): the blocks of
-- the sections ending in c, and the biases of its neurons.
CREATE FUNCTION gc_cell(n hanami.network, c int) RETURNS bytea IMMUTABLE LANGUAGE sql AS $$
  WITH i AS (SELECT n::bytea AS b),
  h AS (SELECT b, gc_u32(b, 72 + 8)::int AS nc, gc_u32(b, 72 + 12)::int AS nn FROM i),
  o AS (SELECT b, 72 + 320 + 64 * nc AS neurons, 72 + 320 + 64 * nc + 24 * nn AS blocks,
               gc_u32(b, 72 + 320 + 64 * c + 8)::int AS first,
               gc_u32(b, 72 + 320 + 64 * c + 12)::int AS cnt FROM h)
  SELECT string_agg(part, ''::bytea ORDER BY kind, k)
  FROM o, LATERAL (
    SELECT 1 AS kind, k, substring(b FROM blocks + 800 * k + 1 FOR 800) AS part
    FROM generate_series(0, (length(b) - blocks) / 800 - 1) k
    WHERE get_byte(b, blocks + 800 * k + 16) + 256 * get_byte(b, blocks + 800 * k + 17) = c
    UNION ALL
    SELECT 2, j, substring(b FROM neurons + 24 * (first + j) + 8 + 1 FOR 4)
    FROM generate_series(0, cnt - 1) j) p $$;

-- sections ending in cell c
CREATE FUNCTION gc_sections(n hanami.network, c int) RETURNS bigint IMMUTABLE LANGUAGE sql AS $$
  SELECT count(*) FROM generate_series(0, length(gc_cell(n, c)) / 800 - 1) k
  WHERE length(gc_cell(n, c)) >= 800 $$;

CREATE TABLE gc_models (name text PRIMARY KEY, net hanami.network);
-- cells 0 "in", 1 "h1", 2 "h2", 3 "out"; distance 2: in grows into h1 and
-- h2, h1 into h2 and out, h2 into out
INSERT INTO gc_models
SELECT 'grown', hanami.fit(hanami.network('{"kind": "hanami",
  "settings": {"max_connection_distance": 2, "reduction_threshold": 2},
  "cells": [{"position": [0, 0], "input": 6, "name": "in"},
            {"position": [1, 0], "neurons": 12, "name": "h1"},
            {"position": [2, 0], "neurons": 8, "name": "h2"},
            {"position": [3, 0], "output": 3, "name": "out"}]}', 5),
  'SELECT x, label FROM gc_rows ORDER BY id', '{"epochs": 2}');
SELECT gc_sections(net, 1) > 0 AS h1_has_sections, gc_sections(net, 2) > 0 AS h2_has_sections,
       gc_sections(net, 3) > 0 AS out_has_sections
FROM gc_models WHERE name = 'grown';

-- fits of the grown network: (name, options)
CREATE TABLE gc_fits (name text, options jsonb);
INSERT INTO gc_fits VALUES
  ('all', '{"epochs": 2, "seed": 3}'),
  ('skip_h1', '{"epochs": 2, "seed": 3, "to_skip": ["h1"]}'),
  ('train_out', '{"epochs": 2, "seed": 3, "to_train": [3]}'),
  ('train_h1', '{"epochs": 2, "seed": 3, "to_train": [1, "h2"], "to_skip": ["h2", "in"]}'),
  ('skip_h2_reduction', '{"epochs": 2, "seed": 3, "to_skip": ["h2"], "reduction": true}');
INSERT INTO gc_models
SELECT f.name, hanami.fit(m.net, 'SELECT x, label FROM gc_rows ORDER BY id', f.options)
FROM gc_fits f, gc_models m WHERE m.name = 'grown';

-- per fit and cell: the bytes it learns stayed the same (true) or changed
SELECT f.name,
       gc_cell(a.net, 1) = gc_cell(g.net, 1) AS h1_same,
       gc_cell(a.net, 2) = gc_cell(g.net, 2) AS h2_same,
       gc_cell(a.net, 3) = gc_cell(g.net, 3) AS out_same,
       (hanami.info(a.net) ->> 'synapses')::int <> (hanami.info(g.net) ->> 'synapses')::int AS synapses_changed
FROM gc_fits f JOIN gc_models a ON a.name = f.name, gc_models g
WHERE g.name = 'grown' ORDER BY f.name;

-- compute threads: the same bytes with 1, 2 and 3 threads, from a fresh
-- network (growth), with a frozen cell, and with reduction
CREATE TABLE gc_threads (name text, threads int, net hanami.network);
INSERT INTO gc_threads
SELECT 'fresh', t, hanami.fit(hanami.network('{"kind": "hanami",
  "settings": {"max_connection_distance": 2},
  "cells": [{"position": [0, 0], "input": 6, "name": "in"},
            {"position": [1, 0], "neurons": 12, "name": "h1"},
            {"position": [2, 0], "neurons": 8, "name": "h2"},
            {"position": [3, 0], "output": 3, "name": "out"}]}', 5),
  'SELECT x, label FROM gc_rows ORDER BY id', '{"epochs": 3}')
FROM (SELECT set_config('hanami.threads', t::text, false), t FROM generate_series(1, 3) t) s;
INSERT INTO gc_threads
SELECT f.name, t, hanami.fit(m.net, 'SELECT x, label FROM gc_rows ORDER BY id', f.options)
FROM (SELECT set_config('hanami.threads', t::text, false), t FROM generate_series(1, 3) t) s,
     gc_fits f, gc_models m
WHERE m.name = 'grown' AND f.name IN ('all', 'skip_h1', 'skip_h2_reduction');
RESET hanami.threads;
SELECT name, count(*) AS fits, count(DISTINCT net::bytea) AS distinct_networks,
       bool_and(gc_u32(net::bytea, 72 + 16) > 0) AS has_blocks
FROM gc_threads GROUP BY name ORDER BY name;
-- and the same bytes as the fit of one thread above
SELECT t.name, bool_and(t.net::bytea = m.net::bytea) AS same_as_before
FROM gc_threads t JOIN gc_models m USING (name) GROUP BY t.name ORDER BY t.name;

-- errors
SELECT hanami.fit(net, 'SELECT x, label FROM gc_rows', '{"to_skip": ["h3"]}') FROM gc_models WHERE name = 'grown';
SELECT hanami.fit(net, 'SELECT x, label FROM gc_rows', '{"to_train": [4]}') FROM gc_models WHERE name = 'grown';
SELECT hanami.fit(net, 'SELECT x, label FROM gc_rows', '{"to_train": ["in", "h1"]}') FROM gc_models WHERE name = 'grown';
SELECT hanami.fit(net, 'SELECT x, label FROM gc_rows', '{"to_train": [0]}') FROM gc_models WHERE name = 'grown';
SELECT hanami.fit(net, 'SELECT x, label FROM gc_rows', '{"to_train": ["h1"], "to_skip": ["h1"]}') FROM gc_models WHERE name = 'grown';
SELECT hanami.fit(net, 'SELECT x, label FROM gc_rows', '{"to_skip": ["h1", "h2", "out"]}') FROM gc_models WHERE name = 'grown';
SELECT hanami.fit(net, 'SELECT x, label FROM gc_rows', '{"to_train": "h1"}') FROM gc_models WHERE name = 'grown';
SELECT hanami.fit(net, 'SELECT x, label FROM gc_rows', '{"to_skip": [true]}') FROM gc_models WHERE name = 'grown';
-- unnamed cells are named by index only
SELECT hanami.fit(hanami.network('{"kind": "hanami", "layers": [2, 4, 2]}'), 'SELECT ARRAY[1, 2]::real[], 1', '{"to_train": ["hidden"]}');
SELECT hanami.info(hanami.fit(hanami.network('{"kind": "hanami", "layers": [2, 4, 2]}'), 'SELECT ARRAY[1, 2]::real[], 1', '{"to_train": [2]}')) ->> 'synapses' AS synapses_into_output_only;
