-- Nets inside nets: a layer {"net": ...} of a graph is a whole network,
-- expanded into its layers with its weights.  An encoder model trained on
-- scikit-learn's digits (25 % held out; examples/datasets.py writes
-- data/digits.csv) is embedded, frozen, under a new head; the head alone
-- trains; the encoder's weights and input scaling stay byte for byte in
-- the outer model; a later commit of the encoder changes nothing of it; a
-- role that cannot read the encoder cannot embed it.
SET client_min_messages = warning;
\set SHOW_CONTEXT never
\getenv abs_srcdir PG_ABS_SRCDIR
\set digits_csv :abs_srcdir '/data/digits.csv'

CREATE FUNCTION pg_temp.err(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	hint text;
BEGIN
	EXECUTE q;
	RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS hint = PG_EXCEPTION_HINT;
	RETURN SQLSTATE || ': ' || SQLERRM || CASE WHEN hint <> '' THEN ' HINT: ' || hint ELSE '' END;
END
$$;

-- the scaling and weights of a network's text form, as bytes
CREATE FUNCTION pg_temp.data(n hanami.network) RETURNS bytea LANGUAGE sql AS $$
	SELECT decode(n::text::jsonb -> 'setup' ->> 'data', 'base64')
$$;

CREATE TABLE nets_digits (id int, x real[], label int, is_test boolean);
COPY nets_digits FROM :'digits_csv' WITH (FORMAT csv, HEADER true);
GRANT SELECT ON nets_digits TO PUBLIC;

CREATE ROLE regress_nets_alice;
CREATE ROLE regress_nets_bob;
SELECT hanami.create_project('regress_nets_team'), hanami.create_project('regress_nets_other');
SELECT hanami.add_member('regress_nets_team', 'regress_nets_alice');
SELECT hanami.add_member('regress_nets_other', 'regress_nets_bob');

SET ROLE regress_nets_alice;
-- the encoder: 64 pixels to 10 sigmoid units, one per digit
SELECT hanami.create_model('encoder', '{"layers": [64, {"count": 32, "name": "h"},
                                                  {"count": 10, "name": "code", "activation": "sigmoid"}]}',
                           'regress_nets_team', 1) IS NOT NULL AS encoder_created;
SELECT hanami.train('encoder',
                    $$SELECT x, (SELECT array_agg((i = label)::int ORDER BY i) FROM generate_series(0, 9) i)::real[]
                      FROM nets_digits WHERE NOT is_test$$,
                    '{"epochs": 20, "batch_size": 16, "learning_rate": 0.003, "seed": 1}') IS NOT NULL AS encoder_trained;

-- the head: the encoder, frozen, read by a new softmax layer
SELECT hanami.create_model('digits', '{"layers": [{"count": 64, "name": "pixels"},
                                                 {"name": "enc", "net": "encoder@main", "frozen": true},
                                                 {"count": 10, "name": "digit", "from": "enc"}]}',
                           'regress_nets_team', 2) IS NOT NULL AS head_created;
-- the first commit names the commit it embeds
SELECT metrics -> 'embedded' ->> 'enc' = 'regress_nets_team/encoder#' || (SELECT commit_id FROM hanami.log('encoder') LIMIT 1)
       AS embedded_recorded
FROM hanami.log('digits');
-- its layers: the encoder's, named after "enc", frozen; the input layer
-- takes the encoder's input scaling
SELECT l ->> 'name' AS layer, l ->> 'role' AS role, l -> 'from' AS reads,
       coalesce(l -> 'frozen', 'false') AS frozen, coalesce(l -> 'fixed_scaling', 'false') AS fixed_scaling
FROM jsonb_array_elements(hanami.info(hanami.load('digits')) -> 'layers') l;
SELECT hanami.info(hanami.load('digits')) ->> 'kind' AS kind;
CREATE TEMP TABLE nets_before AS SELECT hanami.load('digits') AS net;

-- values stay self-contained: a later commit of the encoder changes
-- nothing of the model made from it
SELECT hanami.train('encoder',
                    $$SELECT x, (SELECT array_agg((i = label)::int ORDER BY i) FROM generate_series(0, 9) i)::real[]
                      FROM nets_digits WHERE NOT is_test$$,
                    '{"epochs": 1, "seed": 2}') IS NOT NULL AS encoder_retrained;
SELECT hanami.load('digits')::bytea = net::bytea AS head_unchanged,
       pg_temp.data(hanami.load('encoder')) <> substr(pg_temp.data(net), 1, length(pg_temp.data(hanami.load('encoder'))))
         AS encoder_moved_on
FROM nets_before;

-- train the head: only "digit" learns
SELECT pg_temp.err($$SELECT hanami.train('digits', 'SELECT x, label FROM nets_digits WHERE NOT is_test', '{"to_train": ["enc"]}')$$)
       AS frozen_to_train;
SELECT hanami.train('digits', 'SELECT x, label FROM nets_digits WHERE NOT is_test',
                    '{"epochs": 20, "batch_size": 16, "learning_rate": 0.01, "seed": 1}') IS NOT NULL AS head_trained;
SELECT (hanami.evaluate('digits', 'SELECT x, label FROM nets_digits WHERE is_test') ->> 'accuracy')::float8 >= 0.9
       AS held_out_accuracy_ge_90;
-- the input scaling and the encoder's weights: the bytes of the embedded
-- commit, before and after training (the same layout: scaling of 64
-- inputs and 10 outputs, then the encoder's two layers)
WITH e AS (SELECT pg_temp.data(hanami.load((SELECT metrics -> 'embedded' ->> 'enc' FROM hanami.log('digits') ORDER BY commit_id LIMIT 1))) AS d)
SELECT substr(pg_temp.data(b.net), 1, length(e.d)) = e.d AS embedded_bytes_at_creation,
       substr(pg_temp.data(hanami.load('digits')), 1, length(e.d)) = e.d AS embedded_bytes_after_training,
       pg_temp.data(hanami.load('digits')) <> pg_temp.data(b.net) AS head_changed
FROM e, nets_before b;

-- hanami.network() takes networks inline; a stored reference is resolved
-- by create_model or resolve_nets
\set VERBOSITY default
SELECT pg_temp.err($$SELECT hanami.network('{"layers": [64, {"name": "enc", "net": "encoder@main"}, 10]}')$$) AS reference_in_network;
SELECT hanami.info(hanami.network((hanami.resolve_nets('{"layers": [64, {"name": "enc", "net": "encoder@main"}, 10]}')).resolved))
         -> 'layers' -> 1 ->> 'name' AS resolved_by_resolve_nets;
SELECT pg_temp.err($$SELECT hanami.network('{"layers": [64, {"name": "enc", "net": {"layers": [64, 10]}}, 10]}')$$) AS softmax_inside;
SELECT pg_temp.err($$SELECT hanami.network('{"layers": [32, {"name": "enc", "net": {"layers": [64, 10]}, "output": true}]}')$$) AS wrong_width;
SELECT pg_temp.err($$SELECT hanami.network('{"layers": [3, {"name": "g", "net": {"kind": "hanami", "layers": [3, 4, 2]}}]}')$$) AS growing_inside;
RESET ROLE;

-- a role that cannot read the encoder cannot embed it
SET ROLE regress_nets_bob;
SELECT pg_temp.err($$SELECT hanami.create_model('stolen', '{"layers": [64, {"name": "enc", "net": "regress_nets_team/encoder@main"}, 10]}', 'regress_nets_other')$$)
       AS other_project;
SELECT pg_temp.err($$SELECT hanami.resolve_nets('{"layers": [64, {"name": "enc", "net": "regress_nets_team/encoder"}]}')$$)
       AS other_project_resolve;
SELECT count(*) AS bob_models FROM hanami.models;
RESET ROLE;

SELECT hanami.drop_model('regress_nets_team/digits'), hanami.drop_model('regress_nets_team/encoder');
DELETE FROM hanami.projects WHERE project::text IN ('regress_nets_team', 'regress_nets_other');
DROP TABLE nets_before;
REVOKE SELECT ON nets_digits FROM PUBLIC;
DROP ROLE regress_nets_alice, regress_nets_bob, regress_nets_team, regress_nets_other;
