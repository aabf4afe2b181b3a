-- Custom activations: stored by hanami.create_activation() after the
-- engine's checks, named by a spec in hanami.create_model(), given inline
-- to hanami.network(); a stored model keeps the activation it holds when
-- the name is redefined; the errors, each with its SQLSTATE.
SET client_min_messages = warning;
\set SHOW_CONTEXT never

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

CREATE ROLE regress_ca_alice;
CREATE ROLE regress_ca_bob;
SELECT hanami.create_project('regress_ca_team'), hanami.create_project('regress_ca_other');
SELECT hanami.add_member('regress_ca_team', 'regress_ca_alice');
SELECT hanami.add_member('regress_ca_other', 'regress_ca_bob');
GRANT SELECT ON ALL TABLES IN SCHEMA public TO PUBLIC;

-- the engine's check: canonical texts that compile to the same programs
SELECT hanami.check_activation('x * sigmoid(x)', 'sigmoid(x) * (1 + x * (1 - sigmoid(x)))', 'swish');

-- two classes: the sign of x0 * x1, on 400 points
CREATE TABLE ca_rows AS
SELECT g AS id,
       ARRAY[sin(g * 1.3) * 2, cos(g * 2.1) * 2]::real[] AS x,
       ((sin(g * 1.3) * cos(g * 2.1)) > 0)::int AS label
FROM generate_series(1, 400) g;
GRANT SELECT ON ca_rows TO PUBLIC;

SET ROLE regress_ca_alice;
SELECT hanami.create_activation('swish', 'x * sigmoid(x)',
                                'sigmoid(x) * (1 + x * (1 - sigmoid(x)))',
                                'regress_ca_team') ->> 'name' AS created;
SELECT name, project, expression, created_by FROM hanami.activations;
SELECT hanami.capabilities() -> 'custom_activations' AS visible,
       hanami.capabilities() -> 'activations' ? 'custom' AS custom_listed;
SELECT hanami.create_model('ca_model',
         '{"layers": [2, {"count": 16, "activation": "swish"}, {"count": 8, "activation": "swish"}, 2], "seed": 3}',
         'regress_ca_team') > 0 AS model_created;
SELECT hanami.info(hanami.load('regress_ca_team/ca_model')) -> 'layers' -> 1 -> 'activation' ->> 'name' AS stored_as;
SELECT (hanami.evaluate('regress_ca_team/ca_model', 'SELECT x, label FROM ca_rows') ->> 'loss')::float8 AS loss0 \gset
SELECT hanami.train('regress_ca_team/ca_model', 'SELECT x, label FROM ca_rows WHERE id <= 300',
                    '{"epochs": 60, "batch_size": 16, "seed": 1}') > 0 AS trained;
SELECT (hanami.evaluate('regress_ca_team/ca_model', 'SELECT x, label FROM ca_rows') ->> 'loss')::float8 < :loss0 * 0.7 AS loss_fell,
       (hanami.evaluate('regress_ca_team/ca_model', 'SELECT x, label FROM ca_rows WHERE id > 300') ->> 'accuracy')::float8 >= 0.8 AS accuracy_floor;

-- redefinition: the stored model keeps the activation it holds
CREATE TEMP TABLE ca_before AS
SELECT id, hanami.predict('regress_ca_team/ca_model', x) AS y FROM ca_rows WHERE id <= 20;
SELECT pg_temp.err($$SELECT hanami.create_activation('swish', 'x', '1', 'regress_ca_team')$$) AS no_replace;
SELECT hanami.create_activation('swish', 'tanh(x)', '1 - y^2', 'regress_ca_team', replace => true) ->> 'expression' AS redefined;
SELECT bool_and(b.y = hanami.predict('regress_ca_team/ca_model', r.x)) AS outputs_unchanged
FROM ca_before b JOIN ca_rows r USING (id);
DROP TABLE ca_before;
SELECT hanami.info(hanami.load('regress_ca_team/ca_model')) -> 'layers' -> 1 -> 'activation' ->> 'expression' AS still_holds;
-- a new model takes the new definition
SELECT hanami.create_model('ca_model2', '{"layers": [2, {"count": 4, "activation": "swish"}, 1], "seed": 1}',
         'regress_ca_team') > 0 AS model2_created;
SELECT hanami.info(hanami.load('regress_ca_team/ca_model2')) -> 'layers' -> 1 -> 'activation' ->> 'expression' AS new_model_holds;

-- hanami.network stays immutable: inline, or hanami.activation()
SELECT hanami.info(hanami.network(jsonb_build_object('layers',
         jsonb_build_array(2, jsonb_build_object('count', 3, 'activation',
           hanami.activation('swish', 'regress_ca_team')), 1)))) -> 'layers' -> 1 -> 'activation' ->> 'name' AS via_activation;
SELECT hanami.run(hanami.network('{"layers": [1, {"count": 1, "activation": {"name": "cube", "expression": "x^3", "derivative": "3 * x^2"}}],
         "input_scaling": false, "loss": "mse", "seed": 1}'), ARRAY[0.0]::real[]) AS inline_runs;
-- the text form writes the expressions and reads back to the same value
SELECT (n::text::hanami.network)::bytea = n::bytea AS text_round_trip
FROM hanami.load('regress_ca_team/ca_model') n;
RESET ROLE;

-- errors
\set VERBOSITY default
SELECT pg_temp.err($$SELECT hanami.check_activation('x * (1 + ', '1')$$) AS bad_syntax;
SELECT pg_temp.err($$SELECT hanami.check_activation('x * x', 'x', 'sq')$$) AS wrong_derivative;
SELECT pg_temp.err($$SELECT hanami.check_activation('log(x)', '1 / x', 'ln')$$) AS not_finite;
SELECT pg_temp.err($$SELECT hanami.check_activation('x', '1', 'relu')$$) AS builtin_name;
SELECT pg_temp.err($$SELECT hanami.network('{"layers": [2, {"count": 3, "activation": "swish"}, 1]}')$$) AS network_by_name;
SELECT pg_temp.err($$SELECT hanami.network('{"layers": [2, {"count": 3, "activation": {"name": "w", "expression": "x", "derivative": "2"}}, 1]}')$$) AS inline_wrong;
SELECT pg_temp.err($$SELECT hanami.create_activation('bad name', 'x', '1')$$) AS bad_name;
SET ROLE regress_ca_bob;
SELECT count(*) AS bob_sees FROM hanami.activations;
SELECT hanami.capabilities() -> 'custom_activations' AS bob_visible;
SELECT pg_temp.err($$SELECT hanami.activation('swish', 'regress_ca_team')$$) AS other_project;
SELECT pg_temp.err($$SELECT hanami.create_model('m', '{"layers": [2, {"count": 3, "activation": "swish"}, 1]}', 'regress_ca_other')$$) AS other_project_model;
SELECT pg_temp.err($$SELECT hanami.create_activation('swish', 'x', '1', 'regress_ca_team')$$) AS not_a_member;
WITH u AS (UPDATE hanami.activations SET expression = 'x' RETURNING 1)
SELECT count(*) AS bob_updated FROM u;
RESET ROLE;
SELECT pg_temp.err($$INSERT INTO hanami.activations (project, name, expression, derivative) VALUES ('regress_ca_team', 'w', 'x', '2')$$) AS direct_insert_checked;
SET ROLE regress_ca_alice;
SELECT hanami.drop_activation('swish', 'regress_ca_team');
SELECT hanami.predict('regress_ca_team/ca_model', ARRAY[1, 1]::real[]) IS NOT NULL AS model_survives_drop;
SELECT pg_temp.err($$SELECT hanami.activation('swish', 'regress_ca_team')$$) AS dropped;
RESET ROLE;

SELECT hanami.drop_model('regress_ca_team/ca_model'), hanami.drop_model('regress_ca_team/ca_model2');
DELETE FROM hanami.projects WHERE project::text IN ('regress_ca_team', 'regress_ca_other');
REVOKE SELECT ON ALL TABLES IN SCHEMA public FROM PUBLIC;
DROP ROLE regress_ca_alice, regress_ca_bob, regress_ca_team, regress_ca_other;
