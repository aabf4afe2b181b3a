-- Several hundred mutated binary and text values: each is rejected with a
-- data error or accepted as a value that round-trips; none crashes.
SET client_min_messages = warning;

CREATE TABLE fuzz_base AS
SELECT hanami.network('{"layers": [3, 4, 2]}', 1) AS net
UNION ALL SELECT hanami.network('{"layers": [5, {"count": 3, "name": "h", "activation": "tanh"}, 1]}', 2)
UNION ALL SELECT hanami.fit(hanami.network('{"layers": [2, 3, 2]}', 3), 'SELECT 1.0, 2.0, 1 UNION ALL SELECT 3.0, 4.0, 0');

CREATE TABLE fuzz_result (kind text, outcome text, detail text);

DO $$
DECLARE
	base bytea;
	txt text;
	m bytea;
	t text;
	net hanami.network;
	pos int;
	i int;
	state text;
BEGIN
	PERFORM setseed(0.42);
	FOR i IN 1..400 LOOP
		SELECT b.n::bytea, b.n::text INTO base, txt
		FROM (SELECT f.net AS n, row_number() OVER () AS r FROM fuzz_base f) b WHERE b.r = 1 + i % 3;
		-- binary: flip a byte, truncate, extend, or overwrite a 32-bit field
		m := base;
		pos := floor(random() * length(m))::int;
		CASE i % 4
			WHEN 0 THEN m := set_byte(m, pos, floor(random() * 256)::int);
			WHEN 1 THEN m := substring(m FROM 1 FOR pos);
			WHEN 2 THEN m := m || decode(repeat('ff', 1 + pos % 9), 'hex');
			ELSE
				pos := (pos / 4) * 4 % 256;
				IF pos + 4 <= length(m) THEN
					m := overlay(m PLACING decode(CASE i % 3 WHEN 0 THEN 'ffffff7f' WHEN 1 THEN '00000080' ELSE 'ffffffff' END, 'hex') FROM pos + 1 FOR 4);
				END IF;
		END CASE;
		BEGIN
			net := m::hanami.network;
			IF net::bytea <> m OR net::text::hanami.network::bytea <> m THEN
				INSERT INTO fuzz_result VALUES ('binary', 'accepted without round trip', NULL);
			ELSE
				PERFORM hanami.info(net);
				INSERT INTO fuzz_result VALUES ('binary', 'accepted', NULL);
			END IF;
		EXCEPTION WHEN OTHERS THEN
			GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE;
			INSERT INTO fuzz_result VALUES ('binary', 'rejected', state);
		END;

		-- text: replace a character, cut the text, or change a number
		pos := 1 + floor(random() * length(txt))::int;
		CASE i % 3
			WHEN 0 THEN t := overlay(txt PLACING chr(32 + floor(random() * 95)::int) FROM pos FOR 1);
			WHEN 1 THEN t := substring(txt FROM 1 FOR pos);
			ELSE t := regexp_replace(txt, '[0-9]+', (floor(random() * 2000000000))::bigint::text, 1, 1 + i % 9);
		END CASE;
		BEGIN
			net := t::hanami.network;
			IF net::text::hanami.network::bytea <> net::bytea THEN
				INSERT INTO fuzz_result VALUES ('text', 'accepted without round trip', NULL);
			ELSE
				INSERT INTO fuzz_result VALUES ('text', 'accepted', NULL);
			END IF;
		EXCEPTION WHEN OTHERS THEN
			GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE;
			INSERT INTO fuzz_result VALUES ('text', 'rejected', state);
		END;
	END LOOP;
END
$$;

-- 800 values tried; every error is a data, limit or unsupported-version
-- error, never an internal one
SELECT count(*) AS tried FROM fuzz_result;
SELECT kind, count(*) FILTER (WHERE outcome = 'rejected') > 100 AS many_rejected
FROM fuzz_result GROUP BY kind ORDER BY kind;
SELECT count(*) AS bad_round_trips FROM fuzz_result WHERE outcome = 'accepted without round trip';
SELECT count(*) AS unexpected_errors FROM fuzz_result
WHERE outcome = 'rejected' AND substr(detail, 1, 2) NOT IN ('22', '54', '0A');
SELECT DISTINCT detail AS unexpected_sqlstate FROM fuzz_result
WHERE outcome = 'rejected' AND substr(detail, 1, 2) NOT IN ('22', '54', '0A');
