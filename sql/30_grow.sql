-- The growing "hanami" kind: templates and the layered shorthand, bad
-- descriptions, info(), exact text and binary forms, strict validation of
-- mutated values, options, reset_state() and what other paths say.
\set VERBOSITY terse

-- the layered shorthand: input -> hidden cells -> output along x
SELECT i ->> 'kind' AS kind, i ->> 'inputs' AS inputs, i ->> 'outputs' AS outputs,
       i ->> 'neurons' AS neurons, i ->> 'sections' AS sections,
       i ->> 'synapses' AS synapses, i ->> 'spiking' AS spiking,
       jsonb_path_query_array(i, '$.cells[*].type') AS cell_types,
       jsonb_path_query_array(i, '$.cells[*].depth') AS depths
FROM (SELECT hanami.info(hanami.network('{"kind": "hanami", "layers": [4, 16, 8, 3]}', 1)) AS i) s;

-- a template after OpenHanami's: positions in a hexagon grid, 3D layers,
-- names, settings, and an axon redirecting a cell's growth
CREATE TABLE tmpl AS SELECT hanami.info(hanami.network('{
  "kind": "hanami",
  "settings": {"max_connection_distance": 2, "refractory_time": 1,
               "enable_reduction": true, "neurons": 32},
  "cells": [
    {"position": [0, 0, 0], "input": 6, "name": "sensors"},
    {"position": "1,0,0"},
    {"position": [0, 1, 0], "neurons": 16},
    {"position": [1, 0, 1], "neurons": 8},
    {"position": [2, 0, 1], "output": 2, "name": "alarm"}],
  "axons": ["0,1,0 -> 1,0,1"]}', 7)) AS i;
SELECT c ->> 'name' AS name, c ->> 'type' AS type, c -> 'position' AS position,
       c ->> 'neurons' AS neurons, c ->> 'depth' AS depth, c -> 'axon' AS axon
FROM tmpl, jsonb_array_elements(i -> 'cells') c;
SELECT i -> 'settings' AS settings, i ->> 'neurons' AS neurons, i ->> 'blocks' AS blocks,
       i ->> 'block_bytes' AS block_bytes, i ->> 'bytes' AS bytes
FROM tmpl;

-- the default hidden cell is 256 neurons; spiking follows the settings
SELECT hanami.info(hanami.network('{"kind": "hanami", "layers": [2, 3], "settings": {"neuron_cooldown": 2}}')) ->> 'spiking' AS cooldown_spikes,
       hanami.info(hanami.network('{"kind": "hanami", "layers": [2, 3], "settings": {"refractory_time": 3}}')) ->> 'spiking' AS refractory_spikes,
       hanami.info(hanami.network('{"kind": "hanami", "layers": [2, 3]}')) ->> 'spiking' AS plain_spikes;
SELECT (hanami.info(hanami.network('{"kind": "hanami", "cells": [{"position": [0, 0], "input": 2}, {"position": [1, 0]}, {"position": [2, 0], "output": 1}]}')) -> 'cells' -> 1 ->> 'neurons') AS default_hidden;

-- bad descriptions: each a clear error
SELECT hanami.network('{"kind": "hanami"}');
SELECT hanami.network('{"kind": "hanami", "layers": [4]}');
SELECT hanami.network('{"kind": "hanami", "layers": [4, 2], "cells": []}');
SELECT hanami.network('{"kind": "hanami", "layers": [4, 70000, 2]}');
SELECT hanami.network('{"kind": "hanami", "layers": [4, 2], "activation": "relu"}');
SELECT hanami.network('{"kind": "hanami", "layers": [4, 2], "settings": {"neuron_cooldown": 1}}');
SELECT hanami.network('{"kind": "hanami", "layers": [4, 2], "settings": {"refractory_time": 0}}');
SELECT hanami.network('{"kind": "hanami", "layers": [4, 2], "settings": {"max_connection_distance": 17}}');
SELECT hanami.network('{"kind": "hanami", "layers": [4, 2], "settings": {"cooldown": 2}}');
SELECT hanami.network('{"kind": "hanami", "layers": [4, 2], "settings": {"max_sections": 2000000000}}');
SELECT hanami.network('{"kind": "hanami", "cells": [{"position": [0, 0], "input": 2}, {"position": [3, 0], "output": 2}]}');
SELECT hanami.network('{"kind": "hanami", "cells": [{"position": [0, 0], "input": 2}, {"position": [0, 0], "output": 2}]}');
SELECT hanami.network('{"kind": "hanami", "cells": [{"position": [0, 0], "neurons": 2}, {"position": [1, 0], "output": 2}]}');
SELECT hanami.network('{"kind": "hanami", "cells": [{"position": [0, 0], "input": 2}, {"position": [1, 0], "neurons": 4}]}');
SELECT hanami.network('{"kind": "hanami", "cells": [{"position": [0, 0], "input": 2}, {"position": [1, 0]}, {"position": [0, 1]}, {"position": [2, 0], "output": 2}]}');
SELECT hanami.network('{"kind": "hanami", "cells": [{"position": "0,0,x", "input": 2}, {"position": [1, 0], "output": 2}]}');
SELECT hanami.network('{"kind": "hanami", "cells": [{"position": [0, 0, 0, 0], "input": 2}, {"position": [1, 0], "output": 2}]}');
SELECT hanami.network('{"kind": "hanami", "cells": [{"position": [5000, 0], "input": 2}, {"position": [1, 0], "output": 2}]}');
SELECT hanami.network('{"kind": "hanami", "cells": [{"input": 2}, {"position": [1, 0], "output": 2}]}');
SELECT hanami.network('{"kind": "hanami", "cells": [{"position": [0, 0], "input": 2, "output": 3}, {"position": [1, 0], "output": 2}]}');
SELECT hanami.network('{"kind": "hanami", "cells": [{"position": [0, 0], "input": 2, "name": "a"}, {"position": [1, 0], "output": 2, "name": "a"}]}');
SELECT hanami.network('{"kind": "hanami", "cells": [{"position": [0, 0], "input": 2}, {"position": [1, 0], "output": 2}], "axons": ["0,0 -> 5,5"]}');
SELECT hanami.network('{"kind": "hanami", "cells": [{"position": [0, 0], "input": 2}, {"position": [1, 0], "output": 2}], "axons": ["0,0 => 1,0"]}');
SELECT hanami.network('{"kind": "hanami", "cells": [{"position": [0, 0], "input": 2}, {"position": [1, 0], "output": 2}], "axons": ["1,0 -> 0,0"]}');
SELECT hanami.network('{"kind": "hanami", "cells": [{"position": [0, 0], "input": 2}, {"position": [1, 0]}, {"position": [2, 0], "output": 2}], "axons": ["0,0 -> 2,0"]}');
SELECT hanami.network('{"kind": "hanami", "layers": [2, 2], "format": 2}');

-- exact text form: text -> value gives the same bytes, fresh or trained
CREATE TABLE g (id int, net hanami.network);
INSERT INTO g VALUES
	(1, hanami.network('{"kind": "hanami", "layers": [3, 8, 2]}', 3)),
	(2, hanami.fit(hanami.network('{"kind": "hanami", "layers": [3, 8, 2], "settings": {"neuron_cooldown": 3}}', 4),
	               'SELECT ARRAY[a, -b, a * b * 1000]::real[], (a > b)::int FROM generate_series(1, 6) a, generate_series(1, 5) b',
	               '{"epochs": 3}')),
	(3, hanami.fit(hanami.network('{"kind": "hanami", "cells": [{"position": [0, 0], "input": 3}, {"position": [1, 0], "neurons": 8}, {"position": [1, -1], "neurons": 4}, {"position": [2, 0], "output": 2, "name": "out"}], "settings": {"max_connection_distance": 2}, "axons": ["1,-1 -> 2,0"]}', 5),
	               'SELECT ARRAY[a, b, a - b]::real[], (a > b)::int FROM generate_series(1, 6) a, generate_series(1, 5) b',
	               '{"epochs": 2, "reduction": true}'));
SELECT id, net::text::hanami.network::bytea = net::bytea AS text_round_trip,
       net::bytea::hanami.network::bytea = net::bytea AS bytea_round_trip,
       (hanami.info(net) ->> 'synapses')::int > 0 AS grew,
       (hanami.info(net) ->> 'bytes')::int = octet_length(net::bytea) + 4 AS bytes_counted
FROM g ORDER BY id;
SELECT net::text::jsonb -> 'trained' -> 'epochs' AS epochs,
       jsonb_array_length(net::text::jsonb -> 'trained' -> 'growth') AS growth_entries,
       net::text::jsonb -> 'setup' ? 'data' AS has_data
FROM g WHERE id = 2;
-- a text form with broken data is an error, not a network
SELECT (replace(net::text, '"sections": ', '"sections": 1') )::hanami.network FROM g WHERE id = 2;
SELECT regexp_replace(net::text, '"data": "....', '"data": "!!!!')::hanami.network FROM g WHERE id = 2;

-- every mutated binary value is rejected with a data error, or accepted as
-- a value that runs and round-trips; none crashes
CREATE TABLE grow_fuzz (outcome text, detail text);
DO $$
DECLARE
	base bytea;
	m bytea;
	net hanami.network;
	pos int;
	state text;
BEGIN
	PERFORM setseed(0.3);
	FOR i IN 1..600 LOOP
		SELECT g.net::bytea INTO base FROM g WHERE id = 1 + i % 3;
		m := base;
		pos := floor(random() * length(m))::int;
		CASE i % 4
			WHEN 0 THEN m := set_byte(m, pos, floor(random() * 256)::int);
			WHEN 1 THEN m := substring(m FROM 1 FOR pos);
			WHEN 2 THEN m := m || decode(repeat('00', 1 + pos % 900), 'hex');
			ELSE
				pos := (pos / 4) * 4;
				IF pos + 4 <= length(m) THEN
					m := overlay(m PLACING decode(CASE i % 3 WHEN 0 THEN 'ffffff7f' WHEN 1 THEN '0000c07f' ELSE 'ffffffff' END, 'hex') FROM pos + 1 FOR 4);
				END IF;
		END CASE;
		BEGIN
			net := m::hanami.network;
			PERFORM hanami.run(net, '{1e30, -2, 5}');
			IF net::text::hanami.network::bytea <> m THEN
				INSERT INTO grow_fuzz VALUES ('accepted without round trip', NULL);
			ELSE
				INSERT INTO grow_fuzz VALUES ('accepted', NULL);
			END IF;
		EXCEPTION WHEN OTHERS THEN
			GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE;
			INSERT INTO grow_fuzz VALUES ('rejected', state);
		END;
	END LOOP;
END
$$;
SELECT count(*) AS tried, count(*) FILTER (WHERE outcome = 'rejected') > 300 AS half_rejected,
       count(*) FILTER (WHERE outcome = 'accepted without round trip') AS bad_round_trips,
       count(*) FILTER (WHERE outcome = 'rejected' AND substr(detail, 1, 2) NOT IN ('22', '54')) AS unexpected_errors
FROM grow_fuzz;

-- mutated text forms: an error with a data error code, or a value that
-- round-trips
CREATE TABLE grow_text_fuzz (outcome text, detail text);
DO $$
DECLARE
	txt text;
	t text;
	net hanami.network;
	pos int;
	state text;
BEGIN
	PERFORM setseed(0.7);
	FOR i IN 1..300 LOOP
		SELECT g.net::text INTO txt FROM g WHERE id = 1 + i % 3;
		pos := 1 + floor(random() * length(txt))::int;
		CASE i % 3
			WHEN 0 THEN t := overlay(txt PLACING chr(32 + floor(random() * 95)::int) FROM pos FOR 1);
			WHEN 1 THEN t := substring(txt FROM 1 FOR pos);
			ELSE t := regexp_replace(txt, '[0-9]+', (floor(random() * 2000000000))::bigint::text, 1, 1 + i % 40);
		END CASE;
		BEGIN
			net := t::hanami.network;
			IF net::text::hanami.network::bytea <> net::bytea THEN
				INSERT INTO grow_text_fuzz VALUES ('accepted without round trip', NULL);
			ELSE
				INSERT INTO grow_text_fuzz VALUES ('accepted', NULL);
			END IF;
		EXCEPTION WHEN OTHERS THEN
			GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE;
			INSERT INTO grow_text_fuzz VALUES ('rejected', state);
		END;
	END LOOP;
END
$$;
SELECT count(*) AS tried, count(*) FILTER (WHERE outcome = 'rejected') > 150 AS mostly_rejected,
       count(*) FILTER (WHERE outcome = 'accepted without round trip') AS bad_round_trips,
       count(*) FILTER (WHERE outcome = 'rejected' AND substr(detail, 1, 2) NOT IN ('22', '54', '0A')) AS unexpected_errors
FROM grow_text_fuzz;

-- inference: raw values of any magnitude, finite outputs in (0, 1)
SELECT array_length(hanami.run(net, '{1, 2, 3}'), 1) AS outputs,
       (SELECT bool_and(v > 0 AND v < 1) FROM unnest(hanami.run(net, '{3e38, -3e38, 1e-30}')) v) AS bounded,
       hanami.classify(net, '{6, -1, 6000}') AS cls
FROM g WHERE id = 2;
SELECT hanami.run(net, '{1, 2}') FROM g WHERE id = 2;
SELECT hanami.run(net, '{1, NaN, 2}') FROM g WHERE id = 2;

-- options of a growing network
SELECT hanami.fit(net, 'SELECT ARRAY[1, 2, 3]::real[], 1', '{"batch_size": 8}') FROM g WHERE id = 1;
SELECT hanami.fit(net, 'SELECT ARRAY[1, 2, 3]::real[], 1', '{"optimizer": "adam"}') FROM g WHERE id = 1;
SELECT hanami.fit(net, 'SELECT ARRAY[1, 2, 3]::real[], 1', '{"momentum": 0.5}') FROM g WHERE id = 1;
SELECT hanami.fit(net, 'SELECT ARRAY[1, 2, 3]::real[], 1', '{"epoch": 5}') FROM g WHERE id = 1;
SELECT hanami.fit(net, 'SELECT ARRAY[1, 2, 3]::real[], 1', '{"learning_rate": 0}') FROM g WHERE id = 1;
SELECT hanami.fit(net, 'SELECT ARRAY[1, 2, 3]::real[], ARRAY[0.5, 2]::real[]') FROM g WHERE id = 1;
SELECT hanami.fit(net, 'SELECT ARRAY[1, 2, 3]::real[], 7') FROM g WHERE id = 1;
SELECT hanami.fit(net, 'SELECT ARRAY[1, 2]::real[], 1') FROM g WHERE id = 1;
-- growth off: weights learn, nothing new appears
SELECT (hanami.info(f) ->> 'blocks') = (hanami.info(net) ->> 'blocks') AS same_blocks,
       (hanami.info(f) ->> 'synapses') = (hanami.info(net) ->> 'synapses') AS same_synapses,
       f::bytea <> net::bytea AS trained
FROM (SELECT net, hanami.fit(net, 'SELECT ARRAY[a, -a, a * a]::real[], (a > 3)::int FROM generate_series(1, 6) a', '{"growth": false}') AS f FROM g WHERE id = 2) s;
-- a value array target in [0, 1] per output
SELECT (hanami.verify(f, 'SELECT ARRAY[a, a, a]::real[], ARRAY[(a > 3)::int, (a <= 3)::int]::real[] FROM generate_series(1, 6) a') ? 'mse') AS regression_report
FROM (SELECT hanami.fit(net, 'SELECT ARRAY[a, a, a]::real[], ARRAY[(a > 3)::int, (a <= 3)::int]::real[] FROM generate_series(1, 6) a', '{"epochs": 5}') AS f FROM g WHERE id = 1) s;
-- fit_report (what train() stores with a commit) works for growing networks
SELECT (f).report ->> 'epochs' AS epochs, (f).report ->> 'rows' AS rows,
       (f).report ->> 'stop' AS stop,
       jsonb_array_length((f).report -> 'history') AS history_entries,
       ((f).report ->> 'accuracy')::float8 BETWEEN 0 AND 1 AS has_accuracy,
       hanami.info((f).net) ->> 'kind' AS kind
FROM (SELECT hanami.fit_report(net, 'SELECT ARRAY[a, 1, 2]::real[], (a > 3)::int FROM generate_series(1, 6) a',
                               '{"epochs": 2, "seed": 3}') AS f FROM g WHERE id = 1) s;

-- reset_state: a copy with the spiking state cleared (unchanged otherwise)
SELECT hanami.reset_state(net)::bytea = net::bytea AS fit_leaves_no_state FROM g WHERE id = 2;
SELECT hanami.reset_state(hanami.network('{"layers": [2, 2]}', 1))::bytea = hanami.network('{"layers": [2, 2]}', 1)::bytea AS dense_unchanged;

-- growing networks may be trained by background jobs
SELECT hanami.check_options(net, '{}') FROM g WHERE id = 1;
