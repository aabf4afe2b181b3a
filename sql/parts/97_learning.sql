-- Online learning from a stream ----------------------------------------------
--
-- hanami.learn() appends a sample to the model's learning queue, in the
-- caller's transaction: a sample whose insert rolled back was never queued.
-- A background learner (src/pg/learn.c), running as the writer who enabled
-- learning, consumes the queue in order, takes online steps and stores a
-- commit every commit_every samples or commit_interval seconds; the same
-- transaction deletes the samples that commit learned, so after a crash
-- every queued sample is either in a commit or still queued, never both.
--
-- learning        one row per model that learns: its options and who
--                 enabled it (written through enable_learning by a writer;
--                 the policy makes the row name the role that wrote it)
-- learn_queue     the samples not yet committed; written only by learn()
--                 (as the server, after checking the caller); its model's
--                 writers may read it and delete samples from it
-- learn_grants    roles a writer allowed to call learn() on the model

CREATE TABLE @extschema@.learning (
	model_id pg_catalog.int8 PRIMARY KEY,
	project pg_catalog.regrole NOT NULL,
	branch pg_catalog.text NOT NULL,
	options pg_catalog.jsonb NOT NULL DEFAULT '{}',
	-- the ranges enable_learning checks, also for rows written directly
	commit_every pg_catalog.int4 NOT NULL CHECK (commit_every BETWEEN 1 AND 1000000),
	commit_interval pg_catalog.float8 NOT NULL CHECK (commit_interval BETWEEN 0.1 AND 86400),
	targets pg_catalog.text NOT NULL CHECK (targets IN ('classes', 'values')),
	inputs pg_catalog.int4 NOT NULL CHECK (inputs > 0),
	outputs pg_catalog.int4 NOT NULL CHECK (outputs > 0),
	enabled_by pg_catalog.regrole NOT NULL DEFAULT CURRENT_USER::pg_catalog.regrole,
	login_role pg_catalog.regrole NOT NULL DEFAULT SESSION_USER::pg_catalog.regrole,
	enabled_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	learned pg_catalog.int8 NOT NULL DEFAULT 0,
	last_commit pg_catalog.int8,
	committed_at pg_catalog.timestamptz,
	error pg_catalog.text,
	-- what the learner carries from its last commit (running statistics,
	-- optimizer state); written by the learner only
	state pg_catalog.bytea,
	FOREIGN KEY (model_id, project) REFERENCES @extschema@.model_catalog (id, project) ON DELETE CASCADE
);

CREATE TABLE @extschema@.learn_queue (
	id pg_catalog.int8 GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	model_id pg_catalog.int8 NOT NULL,
	project pg_catalog.regrole NOT NULL,
	input pg_catalog.float4[] NOT NULL,
	class pg_catalog.int4,
	target pg_catalog.float4[],
	queued_by pg_catalog.regrole NOT NULL,
	queued_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	CHECK ((class IS NULL) OPERATOR(pg_catalog.<>) (target IS NULL)),
	FOREIGN KEY (model_id, project) REFERENCES @extschema@.model_catalog (id, project) ON DELETE CASCADE
);
CREATE INDEX ON @extschema@.learn_queue (model_id, id);

CREATE TABLE @extschema@.learn_grants (
	model_id pg_catalog.int8 NOT NULL,
	project pg_catalog.regrole NOT NULL,
	grantee pg_catalog.regrole NOT NULL,
	granted_by pg_catalog.regrole NOT NULL DEFAULT CURRENT_USER::pg_catalog.regrole,
	granted_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	PRIMARY KEY (model_id, grantee),
	FOREIGN KEY (model_id, project) REFERENCES @extschema@.model_catalog (id, project) ON DELETE CASCADE
);

COMMENT ON TABLE @extschema@.learning IS
	'models that learn online from their queue: options, the writer the learner runs as, samples learned, last commit, last error, and what the learner carries from that commit (running statistics, optimizer state)';
COMMENT ON TABLE @extschema@.learn_queue IS
	'samples queued by hanami.learn() and not yet in a commit (written by learn() only; the model''s writers may read and delete them)';
COMMENT ON TABLE @extschema@.learn_grants IS
	'roles a writer of the model allowed to call hanami.learn() on it';

ALTER TABLE @extschema@.learning ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.learning FORCE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.learn_queue ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.learn_queue FORCE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.learn_grants ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.learn_grants FORCE ROW LEVEL SECURITY;

CREATE POLICY learning_read ON @extschema@.learning FOR SELECT
	USING (@extschema@.can_write_model(model_id));
CREATE POLICY learning_delete ON @extschema@.learning FOR DELETE
	USING (@extschema@.can_write_model(model_id));
-- the row names the writer who wrote it: the learner runs as that role
CREATE POLICY learning_insert ON @extschema@.learning FOR INSERT
	WITH CHECK (@extschema@.can_write_model(model_id)
				AND enabled_by OPERATOR(pg_catalog.=) CURRENT_USER::pg_catalog.regrole
				AND login_role OPERATOR(pg_catalog.=) SESSION_USER::pg_catalog.regrole
				AND EXISTS (SELECT 1 FROM @extschema@.model_catalog m
							WHERE m.id OPERATOR(pg_catalog.=) model_id
							  AND m.project OPERATOR(pg_catalog.=) learning.project));
CREATE POLICY learning_update ON @extschema@.learning FOR UPDATE
	USING (@extschema@.can_write_model(model_id))
	WITH CHECK (@extschema@.can_write_model(model_id)
				AND enabled_by OPERATOR(pg_catalog.=) CURRENT_USER::pg_catalog.regrole
				AND login_role OPERATOR(pg_catalog.=) SESSION_USER::pg_catalog.regrole);

CREATE POLICY learn_queue_read ON @extschema@.learn_queue FOR SELECT
	USING (@extschema@.can_write_model(model_id));
-- its writers may drop queued samples (say, ones that no longer fit the model)
CREATE POLICY learn_queue_delete ON @extschema@.learn_queue FOR DELETE
	USING (@extschema@.can_write_model(model_id));

CREATE POLICY learn_grants_read ON @extschema@.learn_grants FOR SELECT
	USING (@extschema@.can_write_model(model_id));
CREATE POLICY learn_grants_delete ON @extschema@.learn_grants FOR DELETE
	USING (@extschema@.can_write_model(model_id));
CREATE POLICY learn_grants_insert ON @extschema@.learn_grants FOR INSERT
	WITH CHECK (@extschema@.can_write_model(model_id)
				AND granted_by OPERATOR(pg_catalog.=) CURRENT_USER::pg_catalog.regrole
				AND EXISTS (SELECT 1 FROM @extschema@.model_catalog m
							WHERE m.id OPERATOR(pg_catalog.=) model_id
							  AND m.project OPERATOR(pg_catalog.=) learn_grants.project));

REVOKE ALL ON @extschema@.learning, @extschema@.learn_queue, @extschema@.learn_grants FROM PUBLIC;
GRANT SELECT, DELETE ON @extschema@.learning TO PUBLIC;
GRANT INSERT (model_id, project, branch, options, commit_every, commit_interval, targets, inputs, outputs)
	ON @extschema@.learning TO PUBLIC;
GRANT UPDATE (branch, options, commit_every, commit_interval, targets, inputs, outputs,
			  enabled_by, login_role, enabled_at, error)
	ON @extschema@.learning TO PUBLIC;
GRANT SELECT, DELETE ON @extschema@.learn_queue TO PUBLIC;
GRANT SELECT, DELETE ON @extschema@.learn_grants TO PUBLIC;
GRANT INSERT (model_id, project, grantee) ON @extschema@.learn_grants TO PUBLIC;

SELECT pg_catalog.pg_extension_config_dump('@extschema@.learning', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.learn_queue', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.learn_queue_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.learn_grants', '');

CREATE FUNCTION @extschema@.learn(model pg_catalog.text, input pg_catalog.float4[], target pg_catalog.int4)
RETURNS void
AS 'MODULE_PATHNAME', 'hanami_learn_class'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.learn(pg_catalog.text, pg_catalog.float4[], pg_catalog.int4) IS
	'queue one sample (input, class) for the model''s online learner, in this transaction (learning must be enabled; writers and roles granted learn may call it)';

CREATE FUNCTION @extschema@.learn(model pg_catalog.text, input pg_catalog.float4[], target pg_catalog.float4[])
RETURNS void
AS 'MODULE_PATHNAME', 'hanami_learn_values'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.learn(pg_catalog.text, pg_catalog.float4[], pg_catalog.float4[]) IS
	'queue one sample (input, target values) for the model''s online learner, in this transaction';

CREATE FUNCTION @extschema@.learning_wake(model_id pg_catalog.int8, flush pg_catalog.bool)
RETURNS void
AS 'MODULE_PATHNAME', 'hanami_learning_wake'
LANGUAGE C VOLATILE STRICT PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.learning_wake(pg_catalog.int8, pg_catalog.bool) IS
	'start the learner of a model the caller may write if none runs, and ask it to commit as soon as it consumed the queue (flush true) until called with false or the transaction ends (used by flush_learning)';

CREATE FUNCTION @extschema@.enable_learning(model pg_catalog.text, options pg_catalog.jsonb DEFAULT '{}')
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
DECLARE
	r record;
	o pg_catalog.jsonb := COALESCE(options, '{}');
	fit_opts pg_catalog.jsonb;
	info pg_catalog.jsonb;
	every pg_catalog.int4 := 100;
	intv pg_catalog.float8 := 10;
	tg pg_catalog.text := 'classes';
	k pg_catalog.text;
	can_login pg_catalog.bool;
BEGIN
	IF pg_catalog.jsonb_typeof(o) OPERATOR(pg_catalog.<>) 'object' THEN
		RAISE EXCEPTION 'options must be a JSON object' USING ERRCODE = '22023';
	END IF;
	IF pg_catalog.strpos(model, '#') OPERATOR(pg_catalog.>) 0 THEN
		RAISE EXCEPTION 'cannot learn into a commit' USING ERRCODE = '22023',
			HINT = 'Name a branch: model or model@branch.';
	END IF;
	SELECT r2.rolcanlogin INTO can_login FROM pg_catalog.pg_roles r2
	WHERE r2.rolname OPERATOR(pg_catalog.=) SESSION_USER;
	IF NOT COALESCE(can_login, false) THEN
		RAISE EXCEPTION 'cannot run a background learner for session role "%"', SESSION_USER
			USING ERRCODE = '42501',
			DETAIL = 'Background workers connect as the session role, which cannot log in.',
			HINT = 'Enable learning from a session of a role with LOGIN; SET ROLE to the project role is fine.';
	END IF;
	SELECT * INTO r FROM @extschema@.resolve(model);
	PERFORM @extschema@.check_write(r.project, r.owner, r.model);
	FOREACH k IN ARRAY ARRAY['epochs', 'shuffle', 'validation_split', 'validation_query', 'early_stopping',
							 'restore_best', 'only_if_better', 'checkpoint_every', 'checkpoint_interval',
							 'max_iterations', 'timeout', 'error_threshold', 'rescale', 'device', 'target', 'verbose']
	LOOP
		IF o ? k THEN
			RAISE EXCEPTION 'option "%" does not apply to online learning', k USING ERRCODE = '22023',
				DETAIL = 'The learner trains each queued sample once, in queue order, on the CPU.';
		END IF;
	END LOOP;
	IF o ? 'commit_every' THEN
		IF pg_catalog.jsonb_typeof(o->'commit_every') OPERATOR(pg_catalog.<>) 'number'
		   OR (o->>'commit_every')::pg_catalog.numeric NOT BETWEEN 1 AND 1000000
		   OR (o->>'commit_every')::pg_catalog.numeric OPERATOR(pg_catalog.<>) pg_catalog.trunc((o->>'commit_every')::pg_catalog.numeric) THEN
			RAISE EXCEPTION 'option "commit_every" must be an integer from 1 to 1000000' USING ERRCODE = '22023';
		END IF;
		every := (o->>'commit_every')::pg_catalog.int4;
	END IF;
	IF o ? 'commit_interval' THEN
		IF pg_catalog.jsonb_typeof(o->'commit_interval') OPERATOR(pg_catalog.<>) 'number'
		   OR (o->>'commit_interval')::pg_catalog.numeric NOT BETWEEN 0.1 AND 86400 THEN
			RAISE EXCEPTION 'option "commit_interval" must be a number of seconds from 0.1 to 86400' USING ERRCODE = '22023';
		END IF;
		intv := (o->>'commit_interval')::pg_catalog.float8;
	END IF;
	IF o ? 'targets' THEN
		IF o->>'targets' IS NULL OR o->>'targets' NOT IN ('classes', 'values') THEN
			RAISE EXCEPTION 'option "targets" must be "classes" or "values"' USING ERRCODE = '22023';
		END IF;
		tg := o->>'targets';
	END IF;
	fit_opts := o OPERATOR(pg_catalog.-) 'commit_every' OPERATOR(pg_catalog.-) 'commit_interval'
		OPERATOR(pg_catalog.-) 'targets';
	info := @extschema@.info(@extschema@.load_commit(r.commit_id));
	PERFORM @extschema@.check_options(@extschema@.load_commit(r.commit_id),
		fit_opts OPERATOR(pg_catalog.||) '{"epochs": 1, "shuffle": false}'::pg_catalog.jsonb);
	INSERT INTO @extschema@.learning AS l (model_id, project, branch, options, commit_every, commit_interval,
									targets, inputs, outputs)
	VALUES (r.model_id, r.project, r.branch, fit_opts, every, intv, tg,
			(info->>'inputs')::pg_catalog.int4, (info->>'outputs')::pg_catalog.int4)
	ON CONFLICT (model_id) DO UPDATE SET branch = excluded.branch, options = excluded.options,
		commit_every = excluded.commit_every, commit_interval = excluded.commit_interval,
		targets = excluded.targets, inputs = excluded.inputs, outputs = excluded.outputs,
		enabled_by = CURRENT_USER::pg_catalog.regrole, login_role = SESSION_USER::pg_catalog.regrole,
		enabled_at = pg_catalog.now(), error = NULL;
END
$$;

COMMENT ON FUNCTION @extschema@.enable_learning(pg_catalog.text, pg_catalog.jsonb) IS
	'let hanami.learn() queue samples for a branch and learn them online in a background worker running as you; options: fit options of the kind (batch_size, learning_rate, ...), commit_every (samples, default 100), commit_interval (seconds, default 10), targets (classes or values)';

CREATE FUNCTION @extschema@.disable_learning(model pg_catalog.text)
RETURNS pg_catalog.bool
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
DECLARE
	r record;
	n pg_catalog.int8;
BEGIN
	SELECT * INTO r FROM @extschema@.resolve(model);
	PERFORM @extschema@.check_write(r.project, r.owner, r.model);
	DELETE FROM @extschema@.learning l WHERE l.model_id OPERATOR(pg_catalog.=) r.model_id;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n OPERATOR(pg_catalog.>) 0;
END
$$;

COMMENT ON FUNCTION @extschema@.disable_learning(pg_catalog.text) IS
	'stop online learning of a model: learn() is refused, the learner stops without committing; queued samples stay queued';

CREATE FUNCTION @extschema@.flush_learning(model pg_catalog.text, timeout pg_catalog.interval DEFAULT '1 minute')
RETURNS pg_catalog.int8
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
DECLARE
	r record;
	l record;
	upto pg_catalog.int8;
	deadline pg_catalog.timestamptz := pg_catalog.clock_timestamp() OPERATOR(pg_catalog.+) timeout;
BEGIN
	IF pg_catalog.current_setting('transaction_isolation') OPERATOR(pg_catalog.<>) 'read committed' THEN
		RAISE EXCEPTION 'flush_learning needs isolation level read committed' USING ERRCODE = '25001',
			DETAIL = 'It waits for the learner''s commit, which a snapshot taken before would not show.';
	END IF;
	SELECT * INTO r FROM @extschema@.resolve(model);
	PERFORM @extschema@.check_write(r.project, r.owner, r.model);
	SELECT * INTO l FROM @extschema@.learning x WHERE x.model_id OPERATOR(pg_catalog.=) r.model_id;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'learning is not enabled for model "%"', r.model USING ERRCODE = '55000',
			HINT = 'Enable it with hanami.enable_learning().';
	END IF;
	SELECT pg_catalog.max(q.id) INTO upto FROM @extschema@.learn_queue q
	WHERE q.model_id OPERATOR(pg_catalog.=) r.model_id;
	IF upto IS NULL THEN
		RETURN NULL;
	END IF;
	PERFORM @extschema@.learning_wake(r.model_id, true);
	LOOP
		EXIT WHEN NOT EXISTS (SELECT 1 FROM @extschema@.learn_queue q
							  WHERE q.model_id OPERATOR(pg_catalog.=) r.model_id
								AND q.id OPERATOR(pg_catalog.<=) upto);
		SELECT * INTO l FROM @extschema@.learning x WHERE x.model_id OPERATOR(pg_catalog.=) r.model_id;
		IF NOT FOUND THEN
			RAISE EXCEPTION 'learning of model "%" was disabled while flushing', r.model USING ERRCODE = '55000';
		END IF;
		IF l.error IS NOT NULL THEN
			RAISE EXCEPTION 'the learner of model "%" failed: %', r.model, l.error USING ERRCODE = '55000';
		END IF;
		IF pg_catalog.clock_timestamp() OPERATOR(pg_catalog.>=) deadline THEN
			RAISE EXCEPTION 'the learner of model "%" did not commit within %', r.model, timeout
				USING ERRCODE = '57014';
		END IF;
		PERFORM pg_catalog.pg_sleep(0.05);
		PERFORM @extschema@.learning_wake(r.model_id, true);
	END LOOP;
	PERFORM @extschema@.learning_wake(r.model_id, false);
	SELECT x.last_commit INTO upto FROM @extschema@.learning x WHERE x.model_id OPERATOR(pg_catalog.=) r.model_id;
	RETURN upto;
END
$$;

COMMENT ON FUNCTION @extschema@.flush_learning(pg_catalog.text, pg_catalog.interval) IS
	'commit now what the learner learned, after it consumed the samples queued so far; returns the commit, NULL when nothing was queued';

CREATE FUNCTION @extschema@.grant_learn(model pg_catalog.text, role pg_catalog.regrole)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
DECLARE
	r record;
BEGIN
	IF role IS NULL THEN
		RAISE EXCEPTION 'role must not be null' USING ERRCODE = '22004';
	END IF;
	SELECT * INTO r FROM @extschema@.resolve(model);
	PERFORM @extschema@.check_write(r.project, r.owner, r.model);
	INSERT INTO @extschema@.learn_grants (model_id, project, grantee)
	VALUES (r.model_id, r.project, role) ON CONFLICT DO NOTHING;
END
$$;

COMMENT ON FUNCTION @extschema@.grant_learn(pg_catalog.text, pg_catalog.regrole) IS
	'allow a role (and its members) to call hanami.learn() on the model, and nothing else';

CREATE FUNCTION @extschema@.revoke_learn(model pg_catalog.text, role pg_catalog.regrole)
RETURNS pg_catalog.bool
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
DECLARE
	r record;
	n pg_catalog.int8;
BEGIN
	SELECT * INTO r FROM @extschema@.resolve(model);
	PERFORM @extschema@.check_write(r.project, r.owner, r.model);
	DELETE FROM @extschema@.learn_grants g
	WHERE g.model_id OPERATOR(pg_catalog.=) r.model_id AND g.grantee OPERATOR(pg_catalog.=) role;
	GET DIAGNOSTICS n = ROW_COUNT;
	RETURN n OPERATOR(pg_catalog.>) 0;
END
$$;

COMMENT ON FUNCTION @extschema@.revoke_learn(pg_catalog.text, pg_catalog.regrole) IS
	'take back a role''s right to call hanami.learn() on the model';
