-- hanami 0.1.0 -> 0.2.0 upgrade script.
-- Every schema change of 0.2.0 is here as well as in sql/parts/ (the install
-- script); the upgrade tests check that both give the same catalog.

\echo Use "ALTER EXTENSION hanami UPDATE TO '0.2.0'" to load this file. \quit

-- Checks on stored rows ------------------------------------------------------

CREATE FUNCTION @extschema@.role_exists(r pg_catalog.regrole)
RETURNS pg_catalog.bool
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
BEGIN
	IF r IS NOT NULL AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles a WHERE a.oid OPERATOR(pg_catalog.=) r) THEN
		RAISE EXCEPTION 'role with OID % does not exist', r::pg_catalog.oid USING ERRCODE = '42704',
			DETAIL = 'hanami''s tables name projects, owners and authors by role.',
			HINT = 'Roles are not part of a database''s dump: restore them first (pg_dumpall --globals-only).';
	END IF;
	RETURN true;
END
$$;

COMMENT ON FUNCTION @extschema@.role_exists(pg_catalog.regrole) IS
	'true if the role exists, else an error (a check on hanami''s tables)';

CREATE FUNCTION @extschema@.block_verified(project pg_catalog.regrole, hash pg_catalog.bytea,
										   data pg_catalog.bytea)
RETURNS pg_catalog.bool
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
AS $$
BEGIN
	IF pg_catalog.sha256(data) IS DISTINCT FROM hash THEN
		RAISE EXCEPTION 'block % of project % does not match its hash',
			pg_catalog.encode(hash, 'hex'), project USING ERRCODE = 'XX001',
			DETAIL = pg_catalog.format('The SHA-256 of its %s bytes is %s.', pg_catalog.length(data),
									   pg_catalog.encode(pg_catalog.sha256(data), 'hex'));
	END IF;
	RETURN true;
END
$$;

COMMENT ON FUNCTION @extschema@.block_verified(pg_catalog.regrole, pg_catalog.bytea, pg_catalog.bytea) IS
	'true if hash is the SHA-256 of data, else an error naming the block (a check on hanami.blocks)';

-- Every stored block is verified now: an upgrade fails, naming the block,
-- if any block's bytes do not match its hash.
ALTER TABLE @extschema@.blocks ADD CONSTRAINT blocks_hash_check
	CHECK (@extschema@.block_verified(project, hash, data));

ALTER TABLE @extschema@.commits DROP CONSTRAINT commits_parent_fkey;

CREATE FUNCTION @extschema@.commits_parent_check()
RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
	IF NEW.parent IS NOT NULL
	   AND NOT EXISTS (SELECT 1 FROM @extschema@.commits k
					   WHERE k.id OPERATOR(pg_catalog.=) NEW.parent
						 AND k.model_id OPERATOR(pg_catalog.=) NEW.model_id) THEN
		RAISE EXCEPTION 'parent commit % does not exist in the model', NEW.parent USING ERRCODE = '23503';
	END IF;
	RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER commits_parent AFTER INSERT ON @extschema@.commits
	FOR EACH ROW EXECUTE FUNCTION @extschema@.commits_parent_check();

ALTER TABLE @extschema@.projects ADD CONSTRAINT projects_role_check
	CHECK (@extschema@.role_exists(project)) NOT VALID;
ALTER TABLE @extschema@.model_catalog ADD CONSTRAINT model_catalog_role_check
	CHECK (@extschema@.role_exists(project) AND @extschema@.role_exists(owner)) NOT VALID;
ALTER TABLE @extschema@.commits ADD CONSTRAINT commits_role_check
	CHECK (@extschema@.role_exists(author)) NOT VALID;
ALTER TABLE @extschema@.blocks ADD CONSTRAINT blocks_role_check
	CHECK (@extschema@.role_exists(project)) NOT VALID;

ALTER TABLE @extschema@.commits ADD COLUMN origin pg_catalog.jsonb;
COMMENT ON COLUMN @extschema@.commits.origin IS 'for an imported commit: its original id, author, date, model and project';

-- Backups ----------------------------------------------------------------------

SELECT pg_catalog.pg_extension_config_dump('@extschema@.projects', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.model_catalog', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.model_catalog_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.commits', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.commits_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.branches', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.blocks', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.commit_blocks', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.job_queue',
	'WHERE state IN (''succeeded'', ''failed'', ''cancelled'')');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.job_queue_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.training_log',
	'WHERE job_id IS NULL OR job_id IN (SELECT j.id FROM @extschema@.job_queue j WHERE j.state IN (''succeeded'', ''failed'', ''cancelled''))');

-- Guarding stored models ------------------------------------------------------
--
-- DROP EXTENSION hanami, DROP SCHEMA hanami and DROP OWNED BY the extension's
-- owner are refused while models are stored, unless a superuser has set
-- hanami.allow_drop_with_models (docs/operations.md).

CREATE FUNCTION @extschema@.guard_drop()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'hanami_guard_drop'
LANGUAGE C;

COMMENT ON FUNCTION @extschema@.guard_drop() IS
	'event trigger: refuse to drop the extension, its schema or its owner''s objects while models are stored';

REVOKE ALL ON FUNCTION @extschema@.guard_drop() FROM PUBLIC;

CREATE EVENT TRIGGER hanami_guard_drop ON ddl_command_start
	WHEN TAG IN ('DROP EXTENSION', 'DROP SCHEMA', 'DROP OWNED')
	EXECUTE FUNCTION @extschema@.guard_drop();

-- Jobs are written by the server only ----------------------------------------
--
-- Ordinary roles lose INSERT and UPDATE on hanami.job_queue and UPDATE on
-- hanami.training_log; hanami.submit_job (called by train_async), cancel and
-- reap_jobs check their caller and write the row themselves, recording the
-- job's identity from the server.  Jobs queued before this update were
-- written under the old rules, so they are not trusted: they fail.

UPDATE @extschema@.job_queue SET state = 'failed', finished_at = pg_catalog.now(),
	error = 'queued before the update to 0.2.0: submit it again'
WHERE state OPERATOR(pg_catalog.=) 'queued';

ALTER TABLE @extschema@.job_queue ADD COLUMN channel pg_catalog.text;
-- (without a "missing value": the column is as a fresh install makes it)
ALTER TABLE @extschema@.job_queue ADD COLUMN attempts pg_catalog.int4;
UPDATE @extschema@.job_queue SET attempts = 0;
ALTER TABLE @extschema@.job_queue ALTER COLUMN attempts SET DEFAULT 0;
ALTER TABLE @extschema@.job_queue ALTER COLUMN attempts SET NOT NULL;
-- why a job that succeeded made no commit (option only_if_better)
ALTER TABLE @extschema@.job_queue ADD COLUMN note pg_catalog.text;
ALTER TABLE @extschema@.job_queue ADD UNIQUE (id, model_id);

DROP POLICY jobs_submit ON @extschema@.job_queue;
DROP POLICY jobs_update ON @extschema@.job_queue;
DROP POLICY jobs_delete ON @extschema@.job_queue;
DROP POLICY training_log_write ON @extschema@.training_log;
DROP POLICY training_log_link ON @extschema@.training_log;
DROP POLICY blocks_add ON @extschema@.blocks;

REVOKE INSERT ON @extschema@.job_queue FROM PUBLIC;
REVOKE UPDATE (state, started_at, finished_at, epoch, epochs, loss, rows_per_second,
			   error, commit_id, worker_pid, cancel_requested)
	ON @extschema@.job_queue FROM PUBLIC;
REVOKE UPDATE (commit_id) ON @extschema@.training_log FROM PUBLIC;

CREATE POLICY jobs_delete ON @extschema@.job_queue FOR DELETE
	USING ((submitted_by OPERATOR(pg_catalog.=) CURRENT_USER::pg_catalog.regrole
			OR @extschema@.is_admin())
		   AND state IN ('succeeded', 'failed', 'cancelled'));

CREATE POLICY training_log_write ON @extschema@.training_log FOR INSERT
	WITH CHECK (EXISTS (SELECT 1 FROM @extschema@.model_catalog m
						WHERE m.id OPERATOR(pg_catalog.=) model_id
						  AND m.project OPERATOR(pg_catalog.=) training_log.project
						  AND @extschema@.can_write(m.project, m.owner))
				AND (job_id IS NULL
					 OR EXISTS (SELECT 1 FROM @extschema@.job_queue j
								WHERE j.id OPERATOR(pg_catalog.=) job_id
								  AND j.model_id OPERATOR(pg_catalog.=) training_log.model_id))
				AND (commit_id IS NULL
					 OR EXISTS (SELECT 1 FROM @extschema@.commits k
								WHERE k.id OPERATOR(pg_catalog.=) commit_id
								  AND k.model_id OPERATOR(pg_catalog.=) training_log.model_id)));

CREATE POLICY blocks_add ON @extschema@.blocks FOR INSERT
	WITH CHECK (EXISTS (SELECT 1 FROM @extschema@.model_catalog m
						WHERE m.project OPERATOR(pg_catalog.=) blocks.project
						  AND @extschema@.can_write(m.project, m.owner)));

-- foreign keys carry the model or the project of the row they point at
ALTER TABLE @extschema@.commits ADD UNIQUE (id, project);
ALTER TABLE @extschema@.commit_blocks DROP CONSTRAINT commit_blocks_commit_id_fkey;
ALTER TABLE @extschema@.commit_blocks ADD FOREIGN KEY (commit_id, project)
	REFERENCES @extschema@.commits (id, project) ON DELETE CASCADE;
ALTER TABLE @extschema@.training_log DROP CONSTRAINT training_log_job_id_fkey;
ALTER TABLE @extschema@.training_log DROP CONSTRAINT training_log_commit_id_fkey;
ALTER TABLE @extschema@.training_log ADD FOREIGN KEY (job_id, model_id)
	REFERENCES @extschema@.job_queue (id, model_id) ON DELETE CASCADE;
ALTER TABLE @extschema@.training_log ADD FOREIGN KEY (commit_id, model_id)
	REFERENCES @extschema@.commits (id, model_id) ON DELETE CASCADE;

CREATE OR REPLACE VIEW @extschema@.jobs WITH (security_invoker = true) AS
SELECT j.id, j.model, j.branch, j.state,
	   CASE WHEN j.state OPERATOR(pg_catalog.=) 'succeeded' THEN 100.0
			WHEN j.epochs OPERATOR(pg_catalog.>) 0
			THEN pg_catalog.round(100.0 * COALESCE(j.epoch, 0) / j.epochs, 1) END AS progress,
	   j.epoch, j.epochs, j.loss, j.rows_per_second,
	   j.submitted_by, j.submitted_at, j.started_at, j.finished_at,
	   j.error, j.commit_id, j.project, j.worker_pid, j.channel, j.note
FROM @extschema@.job_queue j;

COMMENT ON VIEW @extschema@.jobs IS
	'background training jobs you can see: state, progress %, epoch, loss, rows/s, times, error, resulting commit, NOTIFY channel, note (why a succeeded job made no commit)';

COMMENT ON FUNCTION @extschema@.launch_at_commit(pg_catalog.int8) IS
	'start a background worker for a queued job when the current transaction commits (internal)';

REVOKE ALL ON FUNCTION @extschema@.launch_at_commit(pg_catalog.int8) FROM PUBLIC;

CREATE FUNCTION @extschema@.submit_job(model_id pg_catalog.int8, branch pg_catalog.text,
									   query pg_catalog.text, options pg_catalog.jsonb,
									   message pg_catalog.text, epochs pg_catalog.int4)
RETURNS pg_catalog.int8
AS 'MODULE_PATHNAME', 'hanami_submit_job'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.submit_job(pg_catalog.int8, pg_catalog.text, pg_catalog.text, pg_catalog.jsonb, pg_catalog.text, pg_catalog.int4) IS
	'queue a job on a branch the caller may write, run as the caller when this transaction commits (used by train_async)';

CREATE OR REPLACE FUNCTION @extschema@.reap_jobs()
RETURNS pg_catalog.int8
AS 'MODULE_PATHNAME', 'hanami_reap_jobs'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE OR REPLACE FUNCTION @extschema@.cancel(job pg_catalog.int8)
RETURNS pg_catalog.bool
AS 'MODULE_PATHNAME', 'hanami_cancel_job'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE OR REPLACE FUNCTION @extschema@.train_async(model pg_catalog.text, query pg_catalog.text,
										options pg_catalog.jsonb DEFAULT '{}',
										message pg_catalog.text DEFAULT NULL)
RETURNS pg_catalog.int8
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
DECLARE
	r record;
	can_login pg_catalog.bool;
BEGIN
	IF query IS NULL THEN
		RAISE EXCEPTION 'query must not be null' USING ERRCODE = '22004';
	END IF;
	IF pg_catalog.strpos(model, '#') OPERATOR(pg_catalog.>) 0 THEN
		RAISE EXCEPTION 'cannot train a commit' USING ERRCODE = '22023',
			HINT = 'Train a branch (model or model@branch); make one from the commit with hanami.branch().';
	END IF;
	SELECT r2.rolcanlogin INTO can_login FROM pg_catalog.pg_roles r2
	WHERE r2.rolname OPERATOR(pg_catalog.=) SESSION_USER;
	IF NOT COALESCE(can_login, false) THEN
		RAISE EXCEPTION 'cannot run a background job for session role "%"', SESSION_USER
			USING ERRCODE = '42501',
			DETAIL = 'Background workers connect as the session role, which cannot log in.',
			HINT = 'Submit the job from a session of a role with LOGIN; SET ROLE to the project role is fine.';
	END IF;
	SELECT * INTO r FROM @extschema@.resolve(model);
	PERFORM @extschema@.check_write(r.project, r.owner, r.model);
	PERFORM @extschema@.check_options(@extschema@.load_commit(r.commit_id), options);
	PERFORM @extschema@.reap_jobs();
	RETURN @extschema@.submit_job(r.model_id, r.branch, query, COALESCE(options, '{}'), message,
		COALESCE((options OPERATOR(pg_catalog.->>) 'epochs')::pg_catalog.int4, 10));
END
$$;


-- Moving models: export and import ------------------------------------------
--
-- export() streams a model as ordered chunks (bytea values; block chunks
-- hold about 1 MB) that import() turns back into a model under a new name,
-- in another database or in the same one.  Every chunk starts with a
-- 10-byte header: the magic "HNMX", the format version (1), its type and
-- its ordinal (int4, big-endian, from 0), so a missing, repeated or
-- misplaced chunk is found.
--
--   H  header   JSON: format, hanami version, model, kind, project, owner,
--               exported_at, counts of commits and blocks
--   B  blocks   repeated (32-byte SHA-256, int4 big-endian length, data)
--   C  commit   JSON: its ordinal in the export, its parent's ordinal, branch,
--               message, author, created_at, metrics, bytes, origin, the
--               SHA-256 of its network image and its block list
--   E  end      JSON: branches with their heads (commit ordinals) and totals
--
-- Commits go in ascending id order, each preceded by the blocks it uses that
-- no earlier commit of the export used.  docs/operations.md describes it all.

CREATE FUNCTION @extschema@.export(ref pg_catalog.text)
RETURNS SETOF pg_catalog.bytea
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
DECLARE
	-- "HNMX" and the format version; a chunk then has its type and ordinal
	magic CONSTANT pg_catalog.bytea := '\x484e4d5801';
	-- at most this many bytes of block entries per B chunk (a block larger
	-- than that would go alone; stored blocks are at most 32 kB)
	chunk_target CONSTANT pg_catalog.int8 := 1048576;
	r record;
	one_branch pg_catalog.bool;
	ids pg_catalog.int8[];
	n_blocks pg_catalog.int8;
	n_bytes pg_catalog.int8;
	ord pg_catalog.int4 := 0;
	x record;
	c record;
	d pg_catalog.bytea;
	parts pg_catalog.bytea[] := '{}';
	fill pg_catalog.int8 := 0;
	heads pg_catalog.jsonb;
BEGIN
	IF pg_catalog.strpos(ref, '#') OPERATOR(pg_catalog.>) 0 THEN
		RAISE EXCEPTION 'cannot export a single commit' USING ERRCODE = '22023',
			HINT = 'Export the model (every branch) or one branch (model@branch); for the history of a commit, make a branch at it with hanami.branch() and export that.';
	END IF;
	SELECT * INTO r FROM @extschema@.resolve(ref);
	one_branch := pg_catalog.strpos(ref, '@') OPERATOR(pg_catalog.>) 0;

	-- the commits: the whole model, or the head of one branch and its ancestors
	IF one_branch THEN
		WITH RECURSIVE chain AS (
			SELECT k.id, k.parent FROM @extschema@.commits k WHERE k.id OPERATOR(pg_catalog.=) r.commit_id
			UNION ALL
			SELECT k.id, k.parent FROM @extschema@.commits k JOIN chain ON k.id OPERATOR(pg_catalog.=) chain.parent
		)
		SELECT pg_catalog.array_agg(chain.id ORDER BY chain.id) INTO ids FROM chain;
	ELSE
		SELECT pg_catalog.array_agg(k.id ORDER BY k.id) INTO ids
		FROM @extschema@.commits k WHERE k.model_id OPERATOR(pg_catalog.=) r.model_id;
	END IF;

	SELECT pg_catalog.count(*), COALESCE(pg_catalog.sum(pg_catalog.length(b.data)), 0) INTO n_blocks, n_bytes
	FROM (SELECT DISTINCT cb.project, cb.hash
		  FROM pg_catalog.unnest(ids) u(id)
		  JOIN @extschema@.commit_blocks cb ON cb.commit_id OPERATOR(pg_catalog.=) u.id) h
	JOIN @extschema@.blocks b ON b.project OPERATOR(pg_catalog.=) h.project AND b.hash OPERATOR(pg_catalog.=) h.hash;

	RETURN NEXT magic OPERATOR(pg_catalog.||) 'H'::pg_catalog.bytea
		OPERATOR(pg_catalog.||) pg_catalog.int4send(ord)
		OPERATOR(pg_catalog.||) pg_catalog.convert_to(pg_catalog.jsonb_build_object(
			'format', 'hanami-export', 'format_version', 1,
			'hanami', (SELECT e.extversion FROM pg_catalog.pg_extension e WHERE e.extname OPERATOR(pg_catalog.=) 'hanami'),
			'model', r.model,
			'kind', (SELECT m.kind FROM @extschema@.model_catalog m WHERE m.id OPERATOR(pg_catalog.=) r.model_id),
			'project', pg_catalog.pg_get_userbyid(r.project::pg_catalog.oid),
			'owner', pg_catalog.pg_get_userbyid(r.owner::pg_catalog.oid),
			'ref', ref,
			'branch', CASE WHEN one_branch THEN r.branch END,
			'exported_at', pg_catalog.now(),
			'exported_by', CURRENT_USER,
			'commits', pg_catalog.cardinality(ids),
			'blocks', n_blocks,
			'block_bytes', n_bytes)::pg_catalog.text, 'UTF8');
	ord := ord OPERATOR(pg_catalog.+) 1;

	-- Each commit after the blocks it brings: the rows are sorted by
	-- (commit ordinal, block or commit, seq), with block data read one block
	-- at a time, so only keys are sorted and memory holds about one chunk.
	FOR x IN
		WITH sel AS (
			SELECT u.id, (u.n OPERATOR(pg_catalog.-) 1)::pg_catalog.int4 AS ord
			FROM pg_catalog.unnest(ids) WITH ORDINALITY u(id, n)
		), uses AS (
			SELECT s.ord, cb.seq, cb.project, cb.hash,
				   pg_catalog.row_number() OVER (PARTITION BY cb.project, cb.hash ORDER BY s.ord, cb.seq) AS nth
			FROM sel s JOIN @extschema@.commit_blocks cb ON cb.commit_id OPERATOR(pg_catalog.=) s.id
		)
		SELECT u.ord, false AS is_commit, u.seq, u.project, u.hash,
			   NULL::pg_catalog.int8 AS id, NULL::pg_catalog.int8 AS parent, NULL::pg_catalog.int4 AS parent_ord
		FROM uses u WHERE u.nth OPERATOR(pg_catalog.=) 1
		UNION ALL
		SELECT s.ord, true, NULL, NULL, NULL, s.id, k.parent, p.ord
		FROM sel s JOIN @extschema@.commits k ON k.id OPERATOR(pg_catalog.=) s.id
		LEFT JOIN sel p ON p.id OPERATOR(pg_catalog.=) k.parent
		ORDER BY 1, 2, 3
	LOOP
		IF NOT x.is_commit THEN
			SELECT b.data INTO d FROM @extschema@.blocks b
			WHERE b.project OPERATOR(pg_catalog.=) x.project AND b.hash OPERATOR(pg_catalog.=) x.hash;
			IF fill OPERATOR(pg_catalog.>) 0
			   AND (fill OPERATOR(pg_catalog.+) 36 OPERATOR(pg_catalog.+) pg_catalog.length(d)) OPERATOR(pg_catalog.>) chunk_target THEN
				RETURN NEXT magic OPERATOR(pg_catalog.||) 'B'::pg_catalog.bytea
					OPERATOR(pg_catalog.||) pg_catalog.int4send(ord)
					OPERATOR(pg_catalog.||) (SELECT pg_catalog.string_agg(p.e, ''::pg_catalog.bytea ORDER BY p.n)
											 FROM pg_catalog.unnest(parts) WITH ORDINALITY p(e, n));
				ord := ord OPERATOR(pg_catalog.+) 1;
				parts := '{}';
				fill := 0;
			END IF;
			parts := pg_catalog.array_append(parts, x.hash OPERATOR(pg_catalog.||) pg_catalog.int4send(pg_catalog.length(d))
											 OPERATOR(pg_catalog.||) d);
			fill := fill OPERATOR(pg_catalog.+) 36 OPERATOR(pg_catalog.+) pg_catalog.length(d);
			CONTINUE;
		END IF;

		IF fill OPERATOR(pg_catalog.>) 0 THEN
			RETURN NEXT magic OPERATOR(pg_catalog.||) 'B'::pg_catalog.bytea
				OPERATOR(pg_catalog.||) pg_catalog.int4send(ord)
				OPERATOR(pg_catalog.||) (SELECT pg_catalog.string_agg(p.e, ''::pg_catalog.bytea ORDER BY p.n)
										 FROM pg_catalog.unnest(parts) WITH ORDINALITY p(e, n));
			ord := ord OPERATOR(pg_catalog.+) 1;
			parts := '{}';
			fill := 0;
		END IF;
		IF x.parent IS NOT NULL AND (x.parent_ord IS NULL OR x.parent_ord OPERATOR(pg_catalog.>=) x.ord) THEN
			RAISE EXCEPTION 'commit % of model "%" has parent %, which does not come before it in the export',
				x.id, r.model, x.parent USING ERRCODE = 'XX000';
		END IF;
		SELECT k.*, pg_catalog.pg_get_userbyid(k.author::pg_catalog.oid) AS author_name,
			   (SELECT pg_catalog.sha256(pg_catalog.string_agg(b.data, ''::pg_catalog.bytea ORDER BY cb.seq))
				FROM @extschema@.commit_blocks cb
				JOIN @extschema@.blocks b ON b.project OPERATOR(pg_catalog.=) cb.project AND b.hash OPERATOR(pg_catalog.=) cb.hash
				WHERE cb.commit_id OPERATOR(pg_catalog.=) k.id) AS image_hash,
			   (SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
						'seq', cb.seq, 'segment', cb.segment, 'hash', pg_catalog.encode(cb.hash, 'hex')) ORDER BY cb.seq)
				FROM @extschema@.commit_blocks cb WHERE cb.commit_id OPERATOR(pg_catalog.=) k.id) AS block_list
		INTO c FROM @extschema@.commits k WHERE k.id OPERATOR(pg_catalog.=) x.id;
		RETURN NEXT magic OPERATOR(pg_catalog.||) 'C'::pg_catalog.bytea
			OPERATOR(pg_catalog.||) pg_catalog.int4send(ord)
			OPERATOR(pg_catalog.||) pg_catalog.convert_to(pg_catalog.jsonb_build_object(
				'commit', x.ord, 'parent', x.parent_ord, 'id', c.id, 'branch', c.branch,
				'message', c.message, 'author', c.author_name, 'created_at', c.created_at,
				'metrics', c.metrics, 'bytes', c.bytes, 'origin', c.origin,
				'sha256', pg_catalog.encode(c.image_hash, 'hex'),
				'blocks', COALESCE(c.block_list, '[]'))::pg_catalog.text, 'UTF8');
		ord := ord OPERATOR(pg_catalog.+) 1;
	END LOOP;

	SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
			   'name', b.name,
			   'head', pg_catalog.array_position(ids, b.head) OPERATOR(pg_catalog.-) 1) ORDER BY b.name)
	INTO heads
	FROM @extschema@.branches b
	WHERE b.model_id OPERATOR(pg_catalog.=) r.model_id
	  AND (NOT one_branch OR b.name OPERATOR(pg_catalog.=) r.branch);
	RETURN NEXT magic OPERATOR(pg_catalog.||) 'E'::pg_catalog.bytea
		OPERATOR(pg_catalog.||) pg_catalog.int4send(ord)
		OPERATOR(pg_catalog.||) pg_catalog.convert_to(pg_catalog.jsonb_build_object(
			'branches', heads,
			'commits', pg_catalog.cardinality(ids),
			'blocks', n_blocks,
			'block_bytes', n_bytes,
			'chunks', ord OPERATOR(pg_catalog.+) 1)::pg_catalog.text, 'UTF8');
	RETURN;
END
$$;

COMMENT ON FUNCTION @extschema@.export(pg_catalog.text) IS
	'a model (every branch) or one branch (model@branch) with its history and blocks, as ordered chunks for hanami.import()';

CREATE FUNCTION @extschema@.import(query pg_catalog.text, name pg_catalog.text,
								   project pg_catalog.text DEFAULT NULL)
RETURNS pg_catalog.int8
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
DECLARE
	chunk pg_catalog.bytea;
	hd pg_catalog.bytea;
	seen pg_catalog.int8 := 0;	-- chunks read, and so the ordinal expected next
	ord pg_catalog.int8;
	typ pg_catalog.text;
	body pg_catalog.bytea;
	j pg_catalog.jsonb;
	hdr pg_catalog.jsonb;
	fin pg_catalog.jsonb;
	proj pg_catalog.regrole;
	kind pg_catalog.text;
	mid pg_catalog.int8;
	want_commits pg_catalog.int8;
	want_blocks pg_catalog.int8;
	-- the new id of each commit of the export, at its ordinal + 1
	newids pg_catalog.int8[] := '{}';
	-- every block hash the export carried
	sent pg_catalog.bytea[] := '{}';
	n_blocks pg_catalog.int8 := 0;
	-- a B chunk's entries
	pos pg_catalog.int8;
	len pg_catalog.int8;
	blen pg_catalog.int8;
	h pg_catalog.bytea;
	d pg_catalog.bytea;
	hs pg_catalog.bytea[];
	ds pg_catalog.bytea[];
	-- a C chunk's commit
	c_ord pg_catalog.int8;
	c_parent pg_catalog.int8;
	c_id pg_catalog.int8;
	c_branch pg_catalog.text;
	c_message pg_catalog.text;
	c_author pg_catalog.text;
	c_created pg_catalog.timestamptz;
	c_metrics pg_catalog.jsonb;
	c_bytes pg_catalog.int8;
	c_sha pg_catalog.bytea;
	c_origin pg_catalog.jsonb;
	seqs pg_catalog.int4[];
	segs pg_catalog.text[];
	hashes pg_catalog.bytea[];
	cid pg_catalog.int8;
	img pg_catalog.bytea;
	net @extschema@.network;
	bad record;
BEGIN
	IF query IS NULL THEN
		RAISE EXCEPTION 'query must not be null' USING ERRCODE = '22004';
	END IF;
	IF name IS NULL THEN
		RAISE EXCEPTION 'model name must not be null' USING ERRCODE = '22004';
	END IF;
	proj := COALESCE(pg_catalog.quote_ident(project)::pg_catalog.regrole, CURRENT_USER::pg_catalog.regrole);
	IF NOT @extschema@.can_read(proj) THEN
		RAISE EXCEPTION 'permission denied for project %', proj USING ERRCODE = '42501',
			HINT = 'Ask a project admin to add you with hanami.add_member().';
	END IF;

	FOR chunk IN EXECUTE query LOOP
		IF fin IS NOT NULL THEN
			RAISE EXCEPTION 'the export goes on after its end chunk' USING ERRCODE = 'XX001',
				DETAIL = pg_catalog.format('Chunk %s follows the end chunk %s.', seen, seen OPERATOR(pg_catalog.-) 1);
		END IF;
		-- its 10-byte header, read once (the chunk itself may be TOASTed)
		hd := pg_catalog.substr(chunk, 1, 10);
		IF hd IS NULL OR pg_catalog.length(hd) OPERATOR(pg_catalog.<) 10
		   OR pg_catalog.substr(hd, 1, 4) OPERATOR(pg_catalog.<>) '\x484e4d58'::pg_catalog.bytea THEN
			IF seen OPERATOR(pg_catalog.=) 0 THEN
				RAISE EXCEPTION 'not a hanami model export' USING ERRCODE = '22023',
					DETAIL = 'Its first chunk does not start with "HNMX".',
					HINT = 'The query must return the chunks hanami.export() wrote, as one bytea column, in order: SELECT chunk FROM t ORDER BY ordinal.';
			END IF;
			RAISE EXCEPTION 'chunk % of the export is damaged', seen USING ERRCODE = 'XX001',
				DETAIL = 'It does not start with "HNMX".';
		END IF;
		IF pg_catalog.get_byte(hd, 4) OPERATOR(pg_catalog.<>) 1 THEN
			RAISE EXCEPTION 'export format version % is not supported', pg_catalog.get_byte(hd, 4)
				USING ERRCODE = '0A000',
				DETAIL = 'This version of hanami reads format version 1.';
		END IF;
		typ := pg_catalog.encode(pg_catalog.substr(hd, 6, 1), 'escape');
		ord := (pg_catalog.get_byte(hd, 6)::pg_catalog.int8 OPERATOR(pg_catalog.<<) 24)
			OPERATOR(pg_catalog.|) (pg_catalog.get_byte(hd, 7) OPERATOR(pg_catalog.<<) 16)
			OPERATOR(pg_catalog.|) (pg_catalog.get_byte(hd, 8) OPERATOR(pg_catalog.<<) 8)
			OPERATOR(pg_catalog.|) pg_catalog.get_byte(hd, 9);
		IF ord OPERATOR(pg_catalog.<>) seen THEN
			RAISE EXCEPTION 'chunk % of the export arrived where chunk % was expected', ord, seen
				USING ERRCODE = 'XX001',
				DETAIL = 'A chunk is missing, repeated or out of order.',
				HINT = 'Read the chunks in the order hanami.export() returned them (ORDER BY their ordinal).';
		END IF;
		IF (seen OPERATOR(pg_catalog.=) 0) OPERATOR(pg_catalog.<>) (typ OPERATOR(pg_catalog.=) 'H')
		   OR typ NOT IN ('H', 'B', 'C', 'E') THEN
			RAISE EXCEPTION 'chunk % of the export has type "%"', seen, typ USING ERRCODE = 'XX001',
				DETAIL = 'An export is a header chunk (H), block (B) and commit (C) chunks, then an end chunk (E).';
		END IF;
		-- the payload as a plain value of its own: read piece by piece below
		body := pg_catalog.substr(chunk, 11);

		IF typ OPERATOR(pg_catalog.=) 'B' THEN
			pos := 1;
			len := pg_catalog.length(body);
			hs := '{}';
			ds := '{}';
			WHILE pos OPERATOR(pg_catalog.<=) len LOOP
				IF (pos OPERATOR(pg_catalog.+) 35) OPERATOR(pg_catalog.>) len THEN
					RAISE EXCEPTION 'chunk % of the export is damaged', seen USING ERRCODE = 'XX001',
						DETAIL = 'It ends inside the hash or length of a block.';
				END IF;
				h := pg_catalog.substr(body, pos::pg_catalog.int4, 32);
				blen := (pg_catalog.get_byte(body, (pos OPERATOR(pg_catalog.+) 31)::pg_catalog.int4)::pg_catalog.int8 OPERATOR(pg_catalog.<<) 24)
					OPERATOR(pg_catalog.|) (pg_catalog.get_byte(body, (pos OPERATOR(pg_catalog.+) 32)::pg_catalog.int4) OPERATOR(pg_catalog.<<) 16)
					OPERATOR(pg_catalog.|) (pg_catalog.get_byte(body, (pos OPERATOR(pg_catalog.+) 33)::pg_catalog.int4) OPERATOR(pg_catalog.<<) 8)
					OPERATOR(pg_catalog.|) pg_catalog.get_byte(body, (pos OPERATOR(pg_catalog.+) 34)::pg_catalog.int4);
				IF (pos OPERATOR(pg_catalog.+) 35 OPERATOR(pg_catalog.+) blen) OPERATOR(pg_catalog.>) len THEN
					RAISE EXCEPTION 'chunk % of the export is damaged', seen USING ERRCODE = 'XX001',
						DETAIL = pg_catalog.format('Block %s runs past the end of the chunk.', pg_catalog.encode(h, 'hex'));
				END IF;
				d := pg_catalog.substr(body, (pos OPERATOR(pg_catalog.+) 36)::pg_catalog.int4, blen::pg_catalog.int4);
				IF pg_catalog.sha256(d) OPERATOR(pg_catalog.<>) h THEN
					RAISE EXCEPTION 'block % in chunk % of the export does not match its hash',
						pg_catalog.encode(h, 'hex'), seen USING ERRCODE = 'XX001',
						DETAIL = pg_catalog.format('The SHA-256 of its %s bytes is %s.', blen,
												   pg_catalog.encode(pg_catalog.sha256(d), 'hex'));
				END IF;
				hs := pg_catalog.array_append(hs, h);
				ds := pg_catalog.array_append(ds, d);
				sent := pg_catalog.array_append(sent, h);
				pos := pos OPERATOR(pg_catalog.+) 36 OPERATOR(pg_catalog.+) blen;
			END LOOP;
			INSERT INTO @extschema@.blocks (project, hash, data)
			SELECT proj, u.h, u.d FROM ROWS FROM (pg_catalog.unnest(hs), pg_catalog.unnest(ds)) u(h, d)
			ON CONFLICT DO NOTHING;
			n_blocks := n_blocks OPERATOR(pg_catalog.+) pg_catalog.cardinality(hs);
			seen := seen OPERATOR(pg_catalog.+) 1;
			CONTINUE;
		END IF;

		-- H, C and E chunks hold a JSON object
		BEGIN
			j := pg_catalog.convert_from(body, 'UTF8')::pg_catalog.jsonb;
			IF pg_catalog.jsonb_typeof(j) OPERATOR(pg_catalog.<>) 'object' THEN
				RAISE EXCEPTION 'it is not an object' USING ERRCODE = '22023';
			END IF;
			IF typ OPERATOR(pg_catalog.=) 'C' THEN
				c_ord := (j OPERATOR(pg_catalog.->>) 'commit')::pg_catalog.int8;
				c_parent := (j OPERATOR(pg_catalog.->>) 'parent')::pg_catalog.int8;
				c_id := (j OPERATOR(pg_catalog.->>) 'id')::pg_catalog.int8;
				c_branch := j OPERATOR(pg_catalog.->>) 'branch';
				c_message := j OPERATOR(pg_catalog.->>) 'message';
				c_author := j OPERATOR(pg_catalog.->>) 'author';
				c_created := (j OPERATOR(pg_catalog.->>) 'created_at')::pg_catalog.timestamptz;
				c_metrics := j OPERATOR(pg_catalog.->) 'metrics';
				c_bytes := (j OPERATOR(pg_catalog.->>) 'bytes')::pg_catalog.int8;
				c_sha := pg_catalog.decode(j OPERATOR(pg_catalog.->>) 'sha256', 'hex');
				c_origin := j OPERATOR(pg_catalog.->) 'origin';
				SELECT pg_catalog.array_agg((e OPERATOR(pg_catalog.->>) 'seq')::pg_catalog.int4 ORDER BY n),
					   pg_catalog.array_agg(e OPERATOR(pg_catalog.->>) 'segment' ORDER BY n),
					   pg_catalog.array_agg(pg_catalog.decode(e OPERATOR(pg_catalog.->>) 'hash', 'hex') ORDER BY n)
				INTO seqs, segs, hashes
				FROM pg_catalog.jsonb_array_elements(j OPERATOR(pg_catalog.->) 'blocks') WITH ORDINALITY a(e, n);
				IF c_ord IS NULL OR c_id IS NULL OR c_branch IS NULL OR c_message IS NULL OR c_author IS NULL
				   OR c_created IS NULL OR pg_catalog.jsonb_typeof(c_metrics) IS DISTINCT FROM 'object'
				   OR c_bytes IS NULL OR pg_catalog.length(c_sha) IS DISTINCT FROM 32 OR seqs IS NULL
				   OR pg_catalog.array_position(seqs, NULL) IS NOT NULL
				   OR pg_catalog.array_position(segs, NULL) IS NOT NULL
				   OR EXISTS (SELECT 1 FROM pg_catalog.unnest(hashes) u(x)
							  WHERE pg_catalog.length(u.x) IS DISTINCT FROM 32) THEN
					RAISE EXCEPTION 'a field of the commit is missing or of the wrong type' USING ERRCODE = '22023';
				END IF;
			ELSIF typ OPERATOR(pg_catalog.=) 'H' THEN
				want_commits := (j OPERATOR(pg_catalog.->>) 'commits')::pg_catalog.int8;
				want_blocks := (j OPERATOR(pg_catalog.->>) 'blocks')::pg_catalog.int8;
				kind := j OPERATOR(pg_catalog.->>) 'kind';
				IF j OPERATOR(pg_catalog.->>) 'format' IS DISTINCT FROM 'hanami-export'
				   OR want_commits IS NULL OR want_commits OPERATOR(pg_catalog.<) 1
				   OR want_blocks IS NULL OR want_blocks OPERATOR(pg_catalog.<) 0 OR kind IS NULL THEN
					RAISE EXCEPTION 'a field of the header is missing or of the wrong type' USING ERRCODE = '22023';
				END IF;
			END IF;
		EXCEPTION WHEN data_exception THEN
			RAISE EXCEPTION 'chunk % of the export is damaged', seen USING ERRCODE = 'XX001',
				DETAIL = pg_catalog.format('Reading its JSON: %s.', SQLERRM);
		END;

		IF typ OPERATOR(pg_catalog.=) 'H' THEN
			hdr := j;
			BEGIN
				INSERT INTO @extschema@.model_catalog (project, name, kind)
				VALUES (proj, name, kind)
				RETURNING id INTO mid;
			EXCEPTION WHEN unique_violation THEN
				RAISE EXCEPTION 'model "%" already exists in project %', name, proj USING ERRCODE = '42710';
			WHEN check_violation THEN
				RAISE EXCEPTION 'invalid model name "%"', name USING ERRCODE = '22023',
					HINT = 'Names may not contain /, @ or # or start with a space.';
			END;

		ELSIF typ OPERATOR(pg_catalog.=) 'C' THEN
			IF c_ord OPERATOR(pg_catalog.<>) pg_catalog.cardinality(newids) THEN
				RAISE EXCEPTION 'chunk % of the export holds commit %, expected commit %',
					seen, c_ord, pg_catalog.cardinality(newids) USING ERRCODE = 'XX001';
			END IF;
			IF c_parent OPERATOR(pg_catalog.<) 0 OR c_parent OPERATOR(pg_catalog.>=) c_ord THEN
				RAISE EXCEPTION 'commit % of the export names parent %, which is not an earlier commit of the export',
					c_ord, c_parent USING ERRCODE = 'XX001';
			END IF;
			IF EXISTS (SELECT 1 FROM pg_catalog.unnest(seqs) WITH ORDINALITY u(s, n)
					   WHERE u.s OPERATOR(pg_catalog.<>) (u.n OPERATOR(pg_catalog.-) 1)) THEN
				RAISE EXCEPTION 'commit % of the export lists its blocks out of order', c_ord USING ERRCODE = 'XX001';
			END IF;
			-- a block neither here nor stored yet; blocks stored before this
			-- import are checked against what the export carried at its end
			SELECT u.x INTO h FROM pg_catalog.unnest(hashes) u(x)
			WHERE NOT EXISTS (SELECT 1 FROM @extschema@.blocks b
							  WHERE b.project OPERATOR(pg_catalog.=) proj AND b.hash OPERATOR(pg_catalog.=) u.x)
			LIMIT 1;
			IF FOUND THEN
				RAISE EXCEPTION 'commit % of the export uses block %, which the export does not carry',
					c_ord, pg_catalog.encode(h, 'hex') USING ERRCODE = 'XX001';
			END IF;

			INSERT INTO @extschema@.commits (model_id, project, parent, branch, message, metrics, bytes, origin)
			VALUES (mid, proj, newids[c_parent OPERATOR(pg_catalog.+) 1], c_branch, c_message, c_metrics, c_bytes,
					CASE WHEN pg_catalog.jsonb_typeof(c_origin) OPERATOR(pg_catalog.=) 'object' THEN c_origin
						 ELSE pg_catalog.jsonb_build_object(
							'commit', c_id, 'author', c_author,
							'created_at', j OPERATOR(pg_catalog.->) 'created_at',
							'model', hdr OPERATOR(pg_catalog.->) 'model',
							'project', hdr OPERATOR(pg_catalog.->) 'project') END)
			RETURNING id INTO cid;
			INSERT INTO @extschema@.commit_blocks (commit_id, seq, project, segment, hash)
			SELECT cid, u.s, proj, u.g, u.x FROM ROWS FROM (pg_catalog.unnest(seqs), pg_catalog.unnest(segs), pg_catalog.unnest(hashes)) u(s, g, x);

			SELECT pg_catalog.string_agg(b.data, ''::pg_catalog.bytea ORDER BY cb.seq) INTO img
			FROM @extschema@.commit_blocks cb
			JOIN @extschema@.blocks b ON b.project OPERATOR(pg_catalog.=) cb.project AND b.hash OPERATOR(pg_catalog.=) cb.hash
			WHERE cb.commit_id OPERATOR(pg_catalog.=) cid;
			IF COALESCE(pg_catalog.length(img), 0) OPERATOR(pg_catalog.<>) c_bytes THEN
				RAISE EXCEPTION 'commit % of the export reassembles to % bytes instead of %',
					c_ord, COALESCE(pg_catalog.length(img), 0), c_bytes USING ERRCODE = 'XX001';
			END IF;
			IF pg_catalog.sha256(img) OPERATOR(pg_catalog.<>) c_sha THEN
				RAISE EXCEPTION 'commit % of the export does not reassemble to the network it was exported as', c_ord
					USING ERRCODE = 'XX001',
					DETAIL = pg_catalog.format('Its SHA-256 is %s instead of %s.',
											   pg_catalog.encode(pg_catalog.sha256(img), 'hex'), pg_catalog.encode(c_sha, 'hex'));
			END IF;
			BEGIN
				net := img::@extschema@.network;
			EXCEPTION WHEN OTHERS THEN
				RAISE EXCEPTION 'commit % of the export is not a valid network: %', c_ord, SQLERRM
					USING ERRCODE = SQLSTATE;
			END;
			IF c_parent IS NULL AND (@extschema@.info(net) OPERATOR(pg_catalog.->>) 'kind') OPERATOR(pg_catalog.<>) kind THEN
				RAISE EXCEPTION 'commit % of the export is a % network, not of the model''s kind %',
					c_ord, @extschema@.info(net) OPERATOR(pg_catalog.->>) 'kind', kind USING ERRCODE = 'XX001';
			END IF;
			newids := pg_catalog.array_append(newids, cid);

		ELSE
			fin := j;
			IF (fin OPERATOR(pg_catalog.->>) 'chunks') IS DISTINCT FROM (seen OPERATOR(pg_catalog.+) 1)::pg_catalog.text
			   OR (fin OPERATOR(pg_catalog.->>) 'commits') IS DISTINCT FROM want_commits::pg_catalog.text
			   OR (fin OPERATOR(pg_catalog.->>) 'blocks') IS DISTINCT FROM want_blocks::pg_catalog.text
			   OR pg_catalog.cardinality(newids) OPERATOR(pg_catalog.<>) want_commits
			   OR n_blocks OPERATOR(pg_catalog.<>) want_blocks THEN
				RAISE EXCEPTION 'the export is incomplete' USING ERRCODE = 'XX001',
					DETAIL = pg_catalog.format('Its header announced %s commits and %s blocks, its end chunk %s commits, %s blocks and %s chunks; %s commits, %s blocks and %s chunks arrived.',
						want_commits, want_blocks, fin OPERATOR(pg_catalog.->>) 'commits', fin OPERATOR(pg_catalog.->>) 'blocks',
						fin OPERATOR(pg_catalog.->>) 'chunks', pg_catalog.cardinality(newids), n_blocks, seen OPERATOR(pg_catalog.+) 1);
			END IF;
			-- every block a commit uses came with the export
			SELECT n.n OPERATOR(pg_catalog.-) 1 AS ord, cb.hash INTO bad
			FROM pg_catalog.unnest(newids) WITH ORDINALITY n(id, n)
			JOIN @extschema@.commit_blocks cb ON cb.commit_id OPERATOR(pg_catalog.=) n.id
			WHERE NOT (cb.hash OPERATOR(pg_catalog.=) ANY (SELECT s.x FROM pg_catalog.unnest(sent) s(x)))
			LIMIT 1;
			IF FOUND THEN
				RAISE EXCEPTION 'commit % of the export uses block %, which the export does not carry',
					bad.ord, pg_catalog.encode(bad.hash, 'hex') USING ERRCODE = 'XX001';
			END IF;
			IF pg_catalog.jsonb_typeof(fin OPERATOR(pg_catalog.->) 'branches') IS DISTINCT FROM 'array'
			   OR pg_catalog.jsonb_array_length(fin OPERATOR(pg_catalog.->) 'branches') OPERATOR(pg_catalog.=) 0 THEN
				RAISE EXCEPTION 'the end chunk of the export lists no branches' USING ERRCODE = 'XX001';
			END IF;
			SELECT b.e INTO bad
			FROM pg_catalog.jsonb_array_elements(fin OPERATOR(pg_catalog.->) 'branches') b(e)
			WHERE pg_catalog.jsonb_typeof(b.e OPERATOR(pg_catalog.->) 'name') IS DISTINCT FROM 'string'
			   OR pg_catalog.jsonb_typeof(b.e OPERATOR(pg_catalog.->) 'head') IS DISTINCT FROM 'number'
			   OR CASE WHEN (b.e OPERATOR(pg_catalog.->>) 'head') ~ '^[0-9]{1,18}$'
					   THEN (b.e OPERATOR(pg_catalog.->>) 'head')::pg_catalog.int8 OPERATOR(pg_catalog.>=) pg_catalog.cardinality(newids)
					   ELSE true END
			LIMIT 1;
			IF FOUND THEN
				RAISE EXCEPTION 'the end chunk of the export lists a branch that is not a name and a commit of the export'
					USING ERRCODE = 'XX001',
					DETAIL = pg_catalog.format('The entry is %s.', bad.e);
			END IF;
			BEGIN
				INSERT INTO @extschema@.branches (model_id, project, name, head)
				SELECT mid, proj, b.e OPERATOR(pg_catalog.->>) 'name',
					   newids[(b.e OPERATOR(pg_catalog.->>) 'head')::pg_catalog.int8 OPERATOR(pg_catalog.+) 1]
				FROM pg_catalog.jsonb_array_elements(fin OPERATOR(pg_catalog.->) 'branches') b(e);
			EXCEPTION WHEN unique_violation OR check_violation THEN
				RAISE EXCEPTION 'the end chunk of the export lists a branch name twice or an invalid one'
					USING ERRCODE = 'XX001';
			END;
		END IF;
		seen := seen OPERATOR(pg_catalog.+) 1;
	END LOOP;

	IF seen OPERATOR(pg_catalog.=) 0 THEN
		RAISE EXCEPTION 'not a hanami model export' USING ERRCODE = '22023',
			DETAIL = 'The query returned no rows.',
			HINT = 'The query must return the chunks hanami.export() wrote, as one bytea column, in order: SELECT chunk FROM t ORDER BY ordinal.';
	END IF;
	IF fin IS NULL THEN
		RAISE EXCEPTION 'the export is truncated: it ends after chunk % without its end chunk',
			seen OPERATOR(pg_catalog.-) 1 USING ERRCODE = 'XX001',
			HINT = 'Load every chunk of the export, up to its end chunk (type E).';
	END IF;
	RETURN mid;
END
$$;

COMMENT ON FUNCTION @extschema@.import(pg_catalog.text, pg_catalog.text, pg_catalog.text) IS
	'a new model named name in a project (default: your role) from the chunks of hanami.export() a query returns in order, verified; you are the author of its commits, their origin keeps the original';

-- Storage quotas ---------------------------------------------------------------
--
-- A project's blocks may hold at most hanami.quotas.max_bytes bytes (no row:
-- no limit).  Hanami admins edit the table; members of a project read their
-- project's row.  Checked after every statement that adds blocks (a commit,
-- an import), as the role that adds them; superusers are not limited.

CREATE TABLE @extschema@.quotas (
	project pg_catalog.regrole PRIMARY KEY,
	max_bytes pg_catalog.int8 NOT NULL CHECK (max_bytes OPERATOR(pg_catalog.>=) 0),
	set_by pg_catalog.regrole NOT NULL DEFAULT CURRENT_USER::pg_catalog.regrole,
	set_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now()
);

COMMENT ON TABLE @extschema@.quotas IS
	'storage quota per project: most bytes its blocks may hold (edited by hanami admins)';

ALTER TABLE @extschema@.quotas ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.quotas FORCE ROW LEVEL SECURITY;
CREATE POLICY quotas_read ON @extschema@.quotas FOR SELECT
	USING (@extschema@.can_read(project));
CREATE POLICY quotas_admin ON @extschema@.quotas FOR ALL
	USING (@extschema@.is_admin()) WITH CHECK (@extschema@.is_admin());
GRANT SELECT, INSERT, UPDATE, DELETE ON @extschema@.quotas TO PUBLIC;

SELECT pg_catalog.pg_extension_config_dump('@extschema@.quotas', '');

CREATE FUNCTION @extschema@.blocks_quota_check()
RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
	r record;
BEGIN
	IF (SELECT a.rolsuper FROM pg_catalog.pg_roles a WHERE a.oid OPERATOR(pg_catalog.=) CURRENT_USER::pg_catalog.regrole) THEN
		RETURN NULL;
	END IF;
	FOR r IN
		SELECT q.project, q.max_bytes,
			   (SELECT pg_catalog.sum(pg_catalog.octet_length(b.data)) FROM @extschema@.blocks b
				WHERE b.project OPERATOR(pg_catalog.=) q.project) AS used
		FROM @extschema@.quotas q
		WHERE q.project IN (SELECT DISTINCT a.project FROM added a)
	LOOP
		IF r.used OPERATOR(pg_catalog.>) r.max_bytes THEN
			RAISE EXCEPTION 'project % is over its storage quota', r.project USING ERRCODE = '53400',
				DETAIL = pg_catalog.format('Its blocks would hold %s bytes; its quota is %s bytes.', r.used, r.max_bytes),
				HINT = 'Drop models and run hanami.gc(), or ask a hanami admin to raise the project''s row in hanami.quotas.';
		END IF;
	END LOOP;
	RETURN NULL;
END
$$;

COMMENT ON FUNCTION @extschema@.blocks_quota_check() IS
	'trigger: refuse blocks that take a project over its storage quota';

CREATE TRIGGER blocks_quota AFTER INSERT ON @extschema@.blocks
	REFERENCING NEW TABLE AS added
	FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.blocks_quota_check();

CREATE VIEW @extschema@.storage WITH (security_invoker = true) AS
SELECT p.project,
	   COALESCE(s.blocks, 0) AS blocks,
	   COALESCE(s.bytes, 0) AS bytes,
	   q.max_bytes,
	   CASE WHEN q.max_bytes OPERATOR(pg_catalog.>) 0
			THEN pg_catalog.round(100.0 * COALESCE(s.bytes, 0) / q.max_bytes, 1) END AS used_percent
FROM (SELECT b.project FROM @extschema@.blocks b UNION SELECT q2.project FROM @extschema@.quotas q2) p
LEFT JOIN (SELECT b.project, pg_catalog.count(*) AS blocks,
				  pg_catalog.sum(pg_catalog.octet_length(b.data)) AS bytes
		   FROM @extschema@.blocks b GROUP BY b.project) s ON s.project OPERATOR(pg_catalog.=) p.project
LEFT JOIN @extschema@.quotas q ON q.project OPERATOR(pg_catalog.=) p.project;

COMMENT ON VIEW @extschema@.storage IS
	'bytes stored per project you can see, with its quota and how much of it is used';
GRANT SELECT ON @extschema@.storage TO PUBLIC;

-- create_model without a seed draws a random one; the first commit's
-- metrics record the seed
CREATE OR REPLACE FUNCTION @extschema@.create_model(name pg_catalog.text, spec pg_catalog.jsonb,
										 project pg_catalog.regrole DEFAULT NULL,
										 seed pg_catalog.int4 DEFAULT NULL)
RETURNS pg_catalog.int8
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
DECLARE
	-- no seed, neither argument nor in the spec: a random one, so that two
	-- such models do not start from the same weights
	net @extschema@.network := @extschema@.network(spec,
		CASE WHEN seed IS NULL AND NOT (spec OPERATOR(pg_catalog.?) 'seed')
			THEN pg_catalog.floor(pg_catalog.random() OPERATOR(pg_catalog.*) 2147483647)::pg_catalog.int4
			ELSE seed END);
	proj pg_catalog.regrole := COALESCE(project, CURRENT_USER::pg_catalog.regrole);
	mid pg_catalog.int8;
BEGIN
	IF NOT @extschema@.can_read(proj) THEN
		RAISE EXCEPTION 'permission denied for project %', proj USING ERRCODE = '42501',
			HINT = 'Ask a project admin to add you with hanami.add_member().';
	END IF;
	BEGIN
		INSERT INTO @extschema@.model_catalog (project, name, kind)
		VALUES (proj, name, @extschema@.info(net) OPERATOR(pg_catalog.->>) 'kind')
		RETURNING id INTO mid;
	EXCEPTION WHEN unique_violation THEN
		RAISE EXCEPTION 'model "%" already exists in project %', name, proj USING ERRCODE = '42710';
	WHEN check_violation THEN
		RAISE EXCEPTION 'invalid model name "%"', name USING ERRCODE = '22023',
			HINT = 'Names may not contain /, @ or # or start with a space.';
	END;
	PERFORM @extschema@.commit_network(mid, 'main', NULL, net, 'create',
		pg_catalog.jsonb_build_object('seed', @extschema@.info(net) OPERATOR(pg_catalog.->) 'seed'));
	RETURN mid;
END
$$;

COMMENT ON FUNCTION @extschema@.create_model(pg_catalog.text, pg_catalog.jsonb, pg_catalog.regrole, pg_catalog.int4) IS
	'create a named model from a spec in a project (default: your own role), with a first commit on branch main; without a seed (argument or spec) the weights'' seed is random; the first commit''s metrics record it';

-- classify and predict_class take classification networks only
COMMENT ON FUNCTION @extschema@.classify(@extschema@.network, pg_catalog.float4[]) IS
	'the class of one input row for a classification network (softmax or sigmoid output layer): the index of the largest output (for one output: 1 when it is at least 0.5)';
COMMENT ON FUNCTION @extschema@.predict_class(pg_catalog.text, pg_catalog.float4[]) IS
	'the class a stored classification model gives one input row: classify() on the model (the reference is resolved once per statement)';

-- Policies share one write test ---------------------------------------------
--
-- hanami.can_write_model(model_id) is the test that the policies on commits,
-- branches, commit_blocks and training_log each spelled out as a subquery on
-- hanami.model_catalog; as a SECURITY INVOKER function it sees the models as
-- the caller does, exactly as the subquery did.

CREATE FUNCTION @extschema@.can_write_model(model_id pg_catalog.int8)
RETURNS pg_catalog.bool
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT EXISTS (SELECT 1 FROM @extschema@.model_catalog m
				   WHERE m.id OPERATOR(pg_catalog.=) can_write_model.model_id
					 AND @extschema@.can_write(m.project, m.owner))
$$;

COMMENT ON FUNCTION @extschema@.can_write_model(pg_catalog.int8) IS
	'whether the current role may write the model with this id, as it sees the models: its owner, a project admin, or a hanami admin';

ALTER POLICY commits_write ON @extschema@.commits
	WITH CHECK (author OPERATOR(pg_catalog.=) CURRENT_USER::pg_catalog.regrole
				AND @extschema@.can_write_model(model_id));

ALTER POLICY branches_write ON @extschema@.branches
	USING (@extschema@.can_write_model(model_id))
	WITH CHECK (@extschema@.can_write_model(model_id));

ALTER POLICY commit_blocks_write ON @extschema@.commit_blocks
	WITH CHECK (EXISTS (SELECT 1 FROM @extschema@.commits c
						WHERE c.id OPERATOR(pg_catalog.=) commit_blocks.commit_id
						  AND c.project OPERATOR(pg_catalog.=) commit_blocks.project
						  AND @extschema@.can_write_model(c.model_id)));

ALTER POLICY training_log_write ON @extschema@.training_log
	WITH CHECK (@extschema@.can_write_model(model_id)
				AND EXISTS (SELECT 1 FROM @extschema@.model_catalog m
							WHERE m.id OPERATOR(pg_catalog.=) model_id
							  AND m.project OPERATOR(pg_catalog.=) training_log.project)
				AND (job_id IS NULL
					 OR EXISTS (SELECT 1 FROM @extschema@.job_queue j
								WHERE j.id OPERATOR(pg_catalog.=) job_id
								  AND j.model_id OPERATOR(pg_catalog.=) training_log.model_id))
				AND (commit_id IS NULL
					 OR EXISTS (SELECT 1 FROM @extschema@.commits k
								WHERE k.id OPERATOR(pg_catalog.=) commit_id
								  AND k.model_id OPERATOR(pg_catalog.=) training_log.model_id)));

-- Every function has a COMMENT (docs/reference.md is generated from them).
COMMENT ON FUNCTION @extschema@.commits_parent_check() IS
	'trigger: refuse a commit whose parent is not a commit of the same model, as the inserting role sees them';

-- Learning curves and their pictures -----------------------------------------
--
-- learning_curve() reads hanami.training_log as the caller (SECURITY
-- INVOKER, so its row-level security applies): a job or a commit that the
-- caller cannot see is "does not exist".  sparkline() and plot() draw any
-- object of equally long numeric arrays, such as a learning curve.

CREATE FUNCTION @extschema@.learning_curve(job pg_catalog.int8)
RETURNS pg_catalog.jsonb
LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
AS $$
BEGIN
	PERFORM 1 FROM @extschema@.job_queue j WHERE j.id OPERATOR(pg_catalog.=) job;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'job % does not exist', job USING ERRCODE = '42704';
	END IF;
	RETURN (SELECT pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
			'epochs', COALESCE(pg_catalog.jsonb_agg(l.epoch ORDER BY l.epoch), '[]'),
			'loss', CASE WHEN pg_catalog.count(l.loss) OPERATOR(pg_catalog.>) 0
						 THEN pg_catalog.jsonb_agg(l.loss ORDER BY l.epoch) END,
			'val_loss', CASE WHEN pg_catalog.count(l.val_loss) OPERATOR(pg_catalog.>) 0
							 THEN pg_catalog.jsonb_agg(l.val_loss ORDER BY l.epoch) END,
			'val_accuracy', CASE WHEN pg_catalog.count(l.val_accuracy) OPERATOR(pg_catalog.>) 0
								 THEN pg_catalog.jsonb_agg(l.val_accuracy ORDER BY l.epoch) END,
			'rows_per_second', CASE WHEN pg_catalog.count(l.rows_per_second) OPERATOR(pg_catalog.>) 0
									THEN pg_catalog.jsonb_agg(l.rows_per_second ORDER BY l.epoch) END))
			FROM @extschema@.training_log l WHERE l.job_id OPERATOR(pg_catalog.=) job);
END
$$;

COMMENT ON FUNCTION @extschema@.learning_curve(pg_catalog.int8) IS
	'the per-epoch series of a background job as you see it: {"epochs": [...], "loss": [...], "val_loss", "val_accuracy", "rows_per_second"} (keys present when logged)';

CREATE FUNCTION @extschema@.learning_curve(ref pg_catalog.text)
RETURNS pg_catalog.jsonb
LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
AS $$
DECLARE
	cid pg_catalog.int8 := (SELECT r.commit_id FROM @extschema@.resolve(ref) r);
BEGIN
	RETURN (SELECT pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
			'epochs', COALESCE(pg_catalog.jsonb_agg(l.epoch ORDER BY l.epoch), '[]'),
			'loss', CASE WHEN pg_catalog.count(l.loss) OPERATOR(pg_catalog.>) 0
						 THEN pg_catalog.jsonb_agg(l.loss ORDER BY l.epoch) END,
			'val_loss', CASE WHEN pg_catalog.count(l.val_loss) OPERATOR(pg_catalog.>) 0
							 THEN pg_catalog.jsonb_agg(l.val_loss ORDER BY l.epoch) END,
			'val_accuracy', CASE WHEN pg_catalog.count(l.val_accuracy) OPERATOR(pg_catalog.>) 0
								 THEN pg_catalog.jsonb_agg(l.val_accuracy ORDER BY l.epoch) END,
			'rows_per_second', CASE WHEN pg_catalog.count(l.rows_per_second) OPERATOR(pg_catalog.>) 0
									THEN pg_catalog.jsonb_agg(l.rows_per_second ORDER BY l.epoch) END))
			FROM @extschema@.training_log l WHERE l.commit_id OPERATOR(pg_catalog.=) cid);
END
$$;

COMMENT ON FUNCTION @extschema@.learning_curve(pg_catalog.text) IS
	'the per-epoch series of the training that made a commit (model, model@branch, model#commit) as you see it; {"epochs": []} for a commit not made by training';

CREATE FUNCTION @extschema@.sparkline(series pg_catalog.jsonb)
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'hanami_sparkline'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.sparkline(pg_catalog.jsonb) IS
	'one line of block characters for the main series of a curve (loss, else the first) or a numeric array, with its min and max; null when it has no finite value';

CREATE FUNCTION @extschema@.plot(series pg_catalog.jsonb, options pg_catalog.jsonb DEFAULT '{}')
RETURNS pg_catalog.text
AS 'MODULE_PATHNAME', 'hanami_plot'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.plot(pg_catalog.jsonb, pg_catalog.jsonb) IS
	'an SVG line chart of a curve: one line per numeric array other than "epochs" (the x axis), axes, legend; options title, x_label, y_label, width, height';

-- train(): option only_if_better
CREATE OR REPLACE FUNCTION @extschema@.train(model pg_catalog.text, query pg_catalog.text,
								  options pg_catalog.jsonb DEFAULT '{}', message pg_catalog.text DEFAULT NULL)
RETURNS pg_catalog.int8
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
DECLARE
	r record;
	f record;
	head pg_catalog.int8;
	cid pg_catalog.int8;
	better pg_catalog.jsonb;
BEGIN
	IF pg_catalog.strpos(model, '#') OPERATOR(pg_catalog.>) 0 THEN
		RAISE EXCEPTION 'cannot train a commit' USING ERRCODE = '22023',
			HINT = 'Train a branch (model or model@branch); make one from the commit with hanami.branch().';
	END IF;
	SELECT * INTO r FROM @extschema@.resolve(model);
	PERFORM @extschema@.check_write(r.project, r.owner, r.model);
	-- one training per branch at a time: the second waits, then starts from the new head
	SELECT b.head INTO head FROM @extschema@.branches b
	WHERE b.model_id OPERATOR(pg_catalog.=) r.model_id AND b.name OPERATOR(pg_catalog.=) r.branch FOR UPDATE;
	-- option only_if_better (a branch without a head yet always commits):
	-- fit_report measures the head and the trained network on that query, as
	-- the caller, and says whether the trained one scored strictly better
	SELECT * INTO f FROM @extschema@.fit_report(@extschema@.load_commit(head), query,
		CASE WHEN head IS NULL THEN options OPERATOR(pg_catalog.-) 'only_if_better' ELSE options END);
	better := f.report OPERATOR(pg_catalog.->) 'only_if_better';
	IF (better OPERATOR(pg_catalog.->>) 'better')::pg_catalog.bool IS FALSE THEN
		RAISE NOTICE 'not committed: the trained network''s % on the only_if_better query is %, the branch head''s % (% is better)',
			better OPERATOR(pg_catalog.->>) 'metric', better OPERATOR(pg_catalog.->>) 'trained',
			better OPERATOR(pg_catalog.->>) 'head',
			CASE WHEN better OPERATOR(pg_catalog.->>) 'metric' OPERATOR(pg_catalog.=) 'accuracy'
				THEN 'higher' ELSE 'lower' END
			USING DETAIL = pg_catalog.format('Branch "%s" of model "%s" stays at commit %s.', r.branch, r.model, head);
		RETURN NULL;
	END IF;
	cid := @extschema@.commit_network(r.model_id, r.branch, head, f.net,
		COALESCE(message, 'train'), f.report OPERATOR(pg_catalog.-) 'history');
	INSERT INTO @extschema@.training_log (commit_id, model_id, project, epoch, loss, val_loss,
										  val_accuracy, rows_per_second, seconds)
	SELECT cid, r.model_id, r.project, (e OPERATOR(pg_catalog.->>) 'epoch')::pg_catalog.int4,
		   (e OPERATOR(pg_catalog.->>) 'loss')::pg_catalog.float8,
		   (e OPERATOR(pg_catalog.->>) 'val_loss')::pg_catalog.float8,
		   (e OPERATOR(pg_catalog.->>) 'val_accuracy')::pg_catalog.float8,
		   (e OPERATOR(pg_catalog.->>) 'rows_per_second')::pg_catalog.float8,
		   (e OPERATOR(pg_catalog.->>) 'seconds')::pg_catalog.float8
	FROM pg_catalog.jsonb_array_elements(f.report OPERATOR(pg_catalog.->) 'history') e;
	RETURN cid;
END
$$;

COMMENT ON FUNCTION @extschema@.train(pg_catalog.text, pg_catalog.text, pg_catalog.jsonb, pg_catalog.text) IS
	'train the head of a branch on a query''s rows and store the result as a new commit with its metrics (with option only_if_better, only when it scores better than the head; else NULL)';

-- hanami.stop: a running job ends after its current epoch and commits
-- (without a "missing value": the column is as a fresh install makes it)
ALTER TABLE @extschema@.job_queue ADD COLUMN stop_requested pg_catalog.bool;
UPDATE @extschema@.job_queue SET stop_requested = false;
ALTER TABLE @extschema@.job_queue ALTER COLUMN stop_requested SET DEFAULT false;
ALTER TABLE @extschema@.job_queue ALTER COLUMN stop_requested SET NOT NULL;

CREATE FUNCTION @extschema@.stop(job pg_catalog.int8)
RETURNS pg_catalog.bool
AS 'MODULE_PATHNAME', 'hanami_stop_job'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

COMMENT ON FUNCTION @extschema@.stop(pg_catalog.int8) IS
	'stop a job early: a running one ends after its current epoch and commits what it learned (metrics "stop": "stopped"); a queued one never runs';

-- checkpoints: an interrupted job resumes from its last one
CREATE TABLE @extschema@.job_checkpoints (
	job_id pg_catalog.int8 PRIMARY KEY REFERENCES @extschema@.job_queue (id) ON DELETE CASCADE,
	epoch pg_catalog.int4 NOT NULL,
	saved_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	state pg_catalog.bytea NOT NULL
);
ALTER TABLE @extschema@.job_checkpoints ALTER COLUMN state SET STORAGE EXTERNAL;
ALTER TABLE @extschema@.job_checkpoints ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.job_checkpoints FORCE ROW LEVEL SECURITY;
REVOKE ALL ON @extschema@.job_checkpoints FROM PUBLIC;
COMMENT ON TABLE @extschema@.job_checkpoints IS
	'the latest checkpoint of each running background job, from which it resumes after a crash (server only)';

COMMENT ON FUNCTION @extschema@.reap_jobs() IS
	'find running jobs whose worker no longer exists: they resume from their last checkpoint (a dispatcher requeues them) or, after the last attempt, fail; returns how many';

-- Changing a model's architecture ------------------------------------------

-- reshape() commits a new architecture keeping the weights; diff() also
-- shows the layers of both sides and the reshapes between them.
CREATE FUNCTION @extschema@.reshape_report(net @extschema@.network, spec pg_catalog.jsonb,
										   OUT net @extschema@.network, OUT changes pg_catalog.jsonb)
AS 'MODULE_PATHNAME', 'hanami_reshape_report'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.reshape_report(@extschema@.network, pg_catalog.jsonb) IS
	'a network with the architecture a description gives (dense: layers widened, narrowed, added or removed), keeping what it learned, and what changed; hanami.reshape() commits it';

CREATE FUNCTION @extschema@.reshape(ref pg_catalog.text, new_spec pg_catalog.jsonb,
									message pg_catalog.text DEFAULT NULL)
RETURNS pg_catalog.int8
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
DECLARE
	r record;
	f record;
	head pg_catalog.int8;
BEGIN
	IF new_spec IS NULL THEN
		RAISE EXCEPTION 'reshape description must not be null' USING ERRCODE = '22004';
	END IF;
	IF pg_catalog.strpos(ref, '#') OPERATOR(pg_catalog.>) 0 THEN
		RAISE EXCEPTION 'cannot reshape a commit' USING ERRCODE = '22023',
			HINT = 'Reshape a branch (model or model@branch); make one from the commit with hanami.branch().';
	END IF;
	SELECT * INTO r FROM @extschema@.resolve(ref);
	PERFORM @extschema@.check_write(r.project, r.owner, r.model);
	-- one writer per branch at a time: the second waits, then reshapes the new head
	SELECT b.head INTO head FROM @extschema@.branches b
	WHERE b.model_id OPERATOR(pg_catalog.=) r.model_id AND b.name OPERATOR(pg_catalog.=) r.branch FOR UPDATE;
	SELECT * INTO f FROM @extschema@.reshape_report(@extschema@.load_commit(head), new_spec);
	RETURN @extschema@.commit_network(r.model_id, r.branch, head, f.net,
		COALESCE(message, 'reshape'), pg_catalog.jsonb_build_object('reshape', f.changes));
END
$$;

COMMENT ON FUNCTION @extschema@.reshape(pg_catalog.text, pg_catalog.jsonb, pg_catalog.text) IS
	'commit a new architecture of a model on its branch (model or model@branch), keeping what it learned: added units and layers leave the outputs unchanged, unchanged layers share their stored blocks; the commit''s metrics say what changed';

CREATE OR REPLACE FUNCTION @extschema@.diff(a pg_catalog.text, b pg_catalog.text)
RETURNS pg_catalog.jsonb
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	WITH ca AS (SELECT (@extschema@.resolve($1)).commit_id AS id),
		 cb AS (SELECT (@extschema@.resolve($2)).commit_id AS id),
		 x AS (
			SELECT COALESCE(p.seq, q.seq) AS seq, COALESCE(p.segment, q.segment) AS segment,
				   p.hash AS ha, q.hash AS hb
			FROM (SELECT k.* FROM @extschema@.commit_blocks k, ca WHERE k.commit_id OPERATOR(pg_catalog.=) ca.id) p
			FULL JOIN (SELECT k.* FROM @extschema@.commit_blocks k, cb WHERE k.commit_id OPERATOR(pg_catalog.=) cb.id) q
				ON p.seq OPERATOR(pg_catalog.=) q.seq
		 ),
		 s AS (
			SELECT segment, pg_catalog.bool_or(ha IS DISTINCT FROM hb) AS changed, pg_catalog.min(seq) AS first
			FROM x GROUP BY segment
		 ),
		 -- the layers of each side (kinds with layers), and the reshapes from a to b
		 la AS (SELECT @extschema@.info(@extschema@.load_commit(ca.id)) OPERATOR(pg_catalog.->) 'layers' AS l FROM ca),
		 lb AS (SELECT @extschema@.info(@extschema@.load_commit(cb.id)) OPERATOR(pg_catalog.->) 'layers' AS l FROM cb),
		 hist AS (SELECT l.commit_id, l.metrics FROM @extschema@.log($2) l),
		 rs AS (
			SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
					   'commit', h.commit_id, 'changes', h.metrics OPERATOR(pg_catalog.->) 'reshape')
				   ORDER BY h.commit_id) AS j
			FROM hist h, ca
			WHERE h.metrics OPERATOR(pg_catalog.?) 'reshape' AND h.commit_id OPERATOR(pg_catalog.>) ca.id
			  AND EXISTS (SELECT 1 FROM hist y WHERE y.commit_id OPERATOR(pg_catalog.=) ca.id)
		 )
	SELECT pg_catalog.jsonb_build_object(
		'a', (SELECT id FROM ca), 'b', (SELECT id FROM cb),
		'blocks_same', (SELECT pg_catalog.count(*) FROM x WHERE ha OPERATOR(pg_catalog.=) hb),
		'blocks_changed', (SELECT pg_catalog.count(*) FROM x WHERE ha OPERATOR(pg_catalog.<>) hb),
		'blocks_added', (SELECT pg_catalog.count(*) FROM x WHERE ha IS NULL),
		'blocks_removed', (SELECT pg_catalog.count(*) FROM x WHERE hb IS NULL),
		'changed', COALESCE((SELECT pg_catalog.jsonb_agg(segment ORDER BY first) FROM s WHERE changed), '[]'),
		'unchanged', COALESCE((SELECT pg_catalog.jsonb_agg(segment ORDER BY first) FROM s WHERE NOT changed), '[]'),
		'architecture', (SELECT pg_catalog.jsonb_build_object(
			'same', CASE WHEN la.l IS NULL OR lb.l IS NULL THEN NULL ELSE la.l OPERATOR(pg_catalog.=) lb.l END,
			'a', la.l, 'b', lb.l, 'reshapes', COALESCE(rs.j, '[]'))
			FROM la, lb, rs))
$$;

COMMENT ON FUNCTION @extschema@.diff(pg_catalog.text, pg_catalog.text) IS
	'which blocks and which segments (header, layers) differ between two references, and their architectures: the layers of each and, when a is an ancestor of b, the reshapes between them (layers added, removed, widened)';

-- Paged inference: predict() in batches over a window partition (a model
-- larger than hanami.model_cache_memory reads each layer once per batch),
-- and what the backend's model cache holds.
CREATE FUNCTION @extschema@.predict_batch(model pg_catalog.text, input pg_catalog.float4[])
RETURNS pg_catalog.float4[]
AS 'MODULE_PATHNAME', 'hanami_predict_batch'
LANGUAGE C STABLE WINDOW PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.predict_batch(pg_catalog.text, pg_catalog.float4[]) IS
	'window function: predict() for every row of the partition, computed in batches of 256 rows (a paged model reads each layer once per batch); every row names the same model';

CREATE FUNCTION @extschema@.model_cache_stats()
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'hanami_model_cache_stats'
LANGUAGE C VOLATILE PARALLEL RESTRICTED;

COMMENT ON FUNCTION @extschema@.model_cache_stats() IS
	'this backend''s model cache: budget_bytes, bytes, peak_bytes, models, paged_models, pages (cached layer segments), page_fetches, evictions';

-- online learning from a stream (hanami.learn, the learner; see sql/parts/97_learning.sql)
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

-- Averaging networks of one architecture (src/pg/average.c): the weighted
-- mean of their weights and biases, everything else the first network's;
-- parallel-safe, with combine, serial and deserial functions.
CREATE FUNCTION @extschema@.average_trans(pg_catalog.internal, @extschema@.network)
RETURNS pg_catalog.internal
AS 'MODULE_PATHNAME', 'hanami_average_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.average_trans(pg_catalog.internal, @extschema@.network, pg_catalog.float8)
RETURNS pg_catalog.internal
AS 'MODULE_PATHNAME', 'hanami_average_trans'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.average_combine(pg_catalog.internal, pg_catalog.internal)
RETURNS pg_catalog.internal
AS 'MODULE_PATHNAME', 'hanami_average_combine'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
CREATE FUNCTION @extschema@.average_serial(pg_catalog.internal)
RETURNS pg_catalog.bytea
AS 'MODULE_PATHNAME', 'hanami_average_serial'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.average_deserial(pg_catalog.bytea, pg_catalog.internal)
RETURNS pg_catalog.internal
AS 'MODULE_PATHNAME', 'hanami_average_deserial'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.average_final(pg_catalog.internal)
RETURNS @extschema@.network
AS 'MODULE_PATHNAME', 'hanami_average_final'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE AGGREGATE @extschema@.average(@extschema@.network) (
	SFUNC = @extschema@.average_trans,
	STYPE = pg_catalog.internal,
	FINALFUNC = @extschema@.average_final,
	COMBINEFUNC = @extschema@.average_combine,
	SERIALFUNC = @extschema@.average_serial,
	DESERIALFUNC = @extschema@.average_deserial,
	PARALLEL = SAFE
);
CREATE AGGREGATE @extschema@.average(@extschema@.network, pg_catalog.float8) (
	SFUNC = @extschema@.average_trans,
	STYPE = pg_catalog.internal,
	FINALFUNC = @extschema@.average_final,
	COMBINEFUNC = @extschema@.average_combine,
	SERIALFUNC = @extschema@.average_serial,
	DESERIALFUNC = @extschema@.average_deserial,
	PARALLEL = SAFE
);

COMMENT ON AGGREGATE @extschema@.average(@extschema@.network) IS
	'the mean of dense networks of one architecture and scaling (weights and biases averaged; the rest is the first network''s)';
COMMENT ON AGGREGATE @extschema@.average(@extschema@.network, pg_catalog.float8) IS
	'the weighted mean of dense networks of one architecture and scaling (weight >= 0, e.g. the rows each was trained on)';
COMMENT ON FUNCTION @extschema@.average_trans(pg_catalog.internal, @extschema@.network) IS
	'support function of hanami.average: adds a network';
COMMENT ON FUNCTION @extschema@.average_trans(pg_catalog.internal, @extschema@.network, pg_catalog.float8) IS
	'support function of hanami.average: adds a network with its weight';
COMMENT ON FUNCTION @extschema@.average_combine(pg_catalog.internal, pg_catalog.internal) IS
	'support function of hanami.average: merges two partial averages';
COMMENT ON FUNCTION @extschema@.average_serial(pg_catalog.internal) IS
	'support function of hanami.average: a partial average as bytes, for parallel query';
COMMENT ON FUNCTION @extschema@.average_deserial(pg_catalog.bytea, pg_catalog.internal) IS
	'support function of hanami.average: a partial average from bytes (checked)';
COMMENT ON FUNCTION @extschema@.average_final(pg_catalog.internal) IS
	'support function of hanami.average: the mean network';

-- Training across shards ------------------------------------------------------
--
-- train_sharded() trains a named model on rows that live on several nodes
-- (each a PostgreSQL server with hanami holding part of the rows): a first
-- pass learns the scaling once from a sample of every shard's rows, in
-- proportion to their counts; then each round every shard fits the
-- coordinator's current network on its own rows for local_epochs (dblink's
-- asynchronous queries, all shards at once) and the coordinator averages
-- the results weighted by rows (hanami.average).  The shards run as
-- whatever role the connection strings (or foreign servers' user mappings)
-- name, so row-level security applies there; dblink asks a password of a
-- role that is not a superuser.  A round that fails is tried once more on
-- fresh connections; a second failure ends the call with nothing
-- committed.  One commit at the end, each round in training_log.

CREATE FUNCTION @extschema@.sharded_disconnect(dbl pg_catalog.text)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
DECLARE
	c pg_catalog.text;
BEGIN
	FOR c IN EXECUTE pg_catalog.format('SELECT pg_catalog.unnest(%I.dblink_get_connections())', dbl) LOOP
		IF c LIKE 'hanami\_shard\_%' THEN
			BEGIN
				EXECUTE pg_catalog.format('SELECT %I.dblink_disconnect(%L)', dbl, c);
			EXCEPTION WHEN OTHERS THEN
				NULL;			-- a connection already gone
			END;
		END IF;
	END LOOP;
END
$$;

CREATE FUNCTION @extschema@.sharded_connect(dbl pg_catalog.text, shards pg_catalog.text[])
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
BEGIN
	PERFORM @extschema@.sharded_disconnect(dbl);
	FOR i IN 1 .. pg_catalog.cardinality(shards) LOOP
		BEGIN
			EXECUTE pg_catalog.format('SELECT %I.dblink_connect(%L, %L)', dbl, 'hanami_shard_' || i, shards[i]);
		EXCEPTION WHEN OTHERS THEN
			RAISE EXCEPTION 'cannot connect to shard % of sharded training: %', i, SQLERRM
				USING ERRCODE = '08001';
		END;
	END LOOP;
END
$$;

COMMENT ON FUNCTION @extschema@.sharded_disconnect(pg_catalog.text) IS
	'used by train_sharded: closes its dblink connections (named hanami_shard_N)';
COMMENT ON FUNCTION @extschema@.sharded_connect(pg_catalog.text, pg_catalog.text[]) IS
	'used by train_sharded: opens one dblink connection per shard (named hanami_shard_N)';

CREATE FUNCTION @extschema@.train_sharded(model pg_catalog.text, query pg_catalog.text,
										  options pg_catalog.jsonb,
										  message pg_catalog.text DEFAULT NULL)
RETURNS pg_catalog.int8
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
DECLARE
	r record;
	s record;
	dbl pg_catalog.text;
	shards pg_catalog.text[];
	n_shards pg_catalog.int4;
	rounds pg_catalog.int4;
	local_epochs pg_catalog.int4;
	fit_opts pg_catalog.jsonb;
	head pg_catalog.int8;
	cur @extschema@.network;
	total pg_catalog.int8;
	t0 pg_catalog.timestamptz;
	tries pg_catalog.int4;
	log pg_catalog.jsonb := '[]';
	cid pg_catalog.int8;
	retried pg_catalog.int4 := 0;
	rnd pg_catalog.int4;
	sent pg_catalog.int4;
BEGIN
	IF pg_catalog.strpos(model, '#') OPERATOR(pg_catalog.>) 0 THEN
		RAISE EXCEPTION 'cannot train a commit' USING ERRCODE = '22023',
			HINT = 'Train a branch (model or model@branch).';
	END IF;
	IF query IS NULL OR options IS NULL THEN
		RAISE EXCEPTION 'query and options must not be null' USING ERRCODE = '22004';
	END IF;
	SELECT * INTO r FROM @extschema@.resolve(model);
	PERFORM @extschema@.check_write(r.project, r.owner, r.model);
	SELECT n.nspname INTO dbl FROM pg_catalog.pg_extension e
		JOIN pg_catalog.pg_namespace n ON n.oid OPERATOR(pg_catalog.=) e.extnamespace
	WHERE e.extname OPERATOR(pg_catalog.=) 'dblink';
	IF dbl IS NULL THEN
		RAISE EXCEPTION 'hanami.train_sharded needs the dblink extension' USING ERRCODE = '0A000',
			HINT = 'CREATE EXTENSION dblink;';
	END IF;
	IF pg_catalog.jsonb_typeof(options OPERATOR(pg_catalog.->) 'shards') IS DISTINCT FROM 'array' THEN
		RAISE EXCEPTION 'option "shards" must be an array of connection strings or foreign server names'
			USING ERRCODE = '22023';
	END IF;
	shards := ARRAY(SELECT pg_catalog.jsonb_array_elements_text(options OPERATOR(pg_catalog.->) 'shards'));
	n_shards := pg_catalog.cardinality(shards);
	IF n_shards OPERATOR(pg_catalog.<) 1 OR n_shards OPERATOR(pg_catalog.>) 64 THEN
		RAISE EXCEPTION 'option "shards" must name 1 to 64 shards, not %', n_shards USING ERRCODE = '22023';
	END IF;
	BEGIN
		rounds := COALESCE((options OPERATOR(pg_catalog.->>) 'rounds')::pg_catalog.int4, 5);
		local_epochs := COALESCE((options OPERATOR(pg_catalog.->>) 'local_epochs')::pg_catalog.int4, 1);
	EXCEPTION WHEN OTHERS THEN
		RAISE EXCEPTION 'options "rounds" and "local_epochs" must be integers' USING ERRCODE = '22023';
	END;
	IF rounds NOT BETWEEN 1 AND 10000 THEN
		RAISE EXCEPTION 'option "rounds" must be from 1 to 10000, not %', rounds USING ERRCODE = '22023';
	END IF;
	IF local_epochs NOT BETWEEN 1 AND 10000 THEN
		RAISE EXCEPTION 'option "local_epochs" must be from 1 to 10000, not %', local_epochs USING ERRCODE = '22023';
	END IF;
	IF options OPERATOR(pg_catalog.?|) ARRAY['epochs', 'only_if_better', 'validation_query', 'validation_split',
										   'early_stopping', 'restore_best'] THEN
		RAISE EXCEPTION 'options "epochs", "only_if_better", "validation_query", "validation_split", "early_stopping" and "restore_best" do not apply to sharded training'
			USING ERRCODE = '22023', HINT = 'Give "rounds" and "local_epochs".';
	END IF;
	fit_opts := options OPERATOR(pg_catalog.-) ARRAY['shards', 'rounds', 'local_epochs']
		OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('epochs', local_epochs);

	-- one training per branch at a time
	SELECT b.head INTO head FROM @extschema@.branches b
	WHERE b.model_id OPERATOR(pg_catalog.=) r.model_id AND b.name OPERATOR(pg_catalog.=) r.branch FOR UPDATE;
	cur := @extschema@.load_commit(head);
	IF @extschema@.info(cur) OPERATOR(pg_catalog.->>) 'kind' OPERATOR(pg_catalog.<>) 'dense' THEN
		RAISE EXCEPTION 'sharded training averages dense networks; model "%" is of kind %', r.model,
			@extschema@.info(cur) OPERATOR(pg_catalog.->>) 'kind' USING ERRCODE = '0A000';
	END IF;

	PERFORM @extschema@.sharded_connect(dbl, shards);
	-- the scaling, learned once from a sample of every shard's rows
	CREATE TEMP TABLE IF NOT EXISTS hanami_sharded_rows (shard pg_catalog.int4, x pg_catalog.float4[], y pg_catalog.text);
	TRUNCATE pg_temp.hanami_sharded_rows;
	CREATE TEMP TABLE IF NOT EXISTS hanami_sharded_round (shard pg_catalog.int4, net @extschema@.network,
		n pg_catalog.int8, loss pg_catalog.float8);
	CREATE TEMP TABLE IF NOT EXISTS hanami_sharded_counts (shard pg_catalog.int4, c pg_catalog.int8);
	TRUNCATE pg_temp.hanami_sharded_counts;
	FOR s IN SELECT i FROM pg_catalog.generate_series(1, n_shards) i LOOP
		EXECUTE pg_catalog.format(
			'INSERT INTO pg_temp.hanami_sharded_counts SELECT %s, t.c FROM %I.dblink(%L, %L) AS t(c pg_catalog.int8)',
			s.i, dbl, 'hanami_shard_' || s.i, pg_catalog.format('SELECT pg_catalog.count(*) FROM (%s) q', query));
	END LOOP;
	SELECT pg_catalog.sum(c) INTO total FROM pg_temp.hanami_sharded_counts;
	IF total OPERATOR(pg_catalog.=) 0 THEN
		RAISE EXCEPTION 'the shards hold no rows for this query' USING ERRCODE = '22023';
	END IF;
	FOR s IN SELECT shard, c FROM pg_temp.hanami_sharded_counts WHERE c OPERATOR(pg_catalog.>) 0 LOOP
		EXECUTE pg_catalog.format(
			'INSERT INTO pg_temp.hanami_sharded_rows SELECT %s, t.x, t.y FROM %I.dblink(%L, %L) AS t(x pg_catalog.float4[], y pg_catalog.text)',
			s.shard, dbl, 'hanami_shard_' || s.shard,
			pg_catalog.format('SELECT q.x::pg_catalog.text, q.y::pg_catalog.text FROM (%s) AS q(x, y) ORDER BY pg_catalog.random() LIMIT %s',
							  query, pg_catalog.ceil(4096.0 * s.c OPERATOR(pg_catalog./) total)::pg_catalog.int8));
	END LOOP;
	cur := @extschema@.fit(cur,
		CASE WHEN EXISTS (SELECT FROM pg_temp.hanami_sharded_rows WHERE y LIKE '{%')
			 THEN 'SELECT x, y::pg_catalog.float4[] FROM pg_temp.hanami_sharded_rows ORDER BY shard'
			 ELSE 'SELECT x, y::pg_catalog.int4 FROM pg_temp.hanami_sharded_rows ORDER BY shard' END,
		'{"epochs": 0}');

	FOR rnd IN 1 .. rounds LOOP
		tries := 0;
		LOOP
			t0 := pg_catalog.clock_timestamp();
			BEGIN
				TRUNCATE pg_temp.hanami_sharded_round;
				FOR s IN SELECT i FROM pg_catalog.generate_series(1, n_shards) i LOOP
					EXECUTE pg_catalog.format('SELECT %I.dblink_send_query(%L, %L)', dbl, 'hanami_shard_' || s.i,
						pg_catalog.format('SELECT f.net::pg_catalog.text, (f.report OPERATOR(pg_catalog.->>) ''rows'')::pg_catalog.int8, '
										  '(f.report OPERATOR(pg_catalog.->>) ''loss'')::pg_catalog.float8 '
										  'FROM hanami.fit_report(%L::hanami.network, %L, %L::pg_catalog.jsonb) f',
										  cur::pg_catalog.text, query, fit_opts::pg_catalog.text)) INTO sent;
					IF sent OPERATOR(pg_catalog.<>) 1 THEN
						RAISE EXCEPTION 'could not send the round to shard %', s.i;
					END IF;
				END LOOP;
				FOR s IN SELECT i FROM pg_catalog.generate_series(1, n_shards) i LOOP
					EXECUTE pg_catalog.format(
						'INSERT INTO pg_temp.hanami_sharded_round SELECT %s, t.net::hanami.network, t.n, t.loss '
						'FROM %I.dblink_get_result(%L) AS t(net pg_catalog.text, n pg_catalog.int8, loss pg_catalog.float8)',
						s.i, dbl, 'hanami_shard_' || s.i);
					-- the end of the results, which frees the connection for the next query
					EXECUTE pg_catalog.format(
						'SELECT pg_catalog.count(*) FROM %I.dblink_get_result(%L) AS t(net pg_catalog.text, n pg_catalog.int8, loss pg_catalog.float8)',
						dbl, 'hanami_shard_' || s.i);
				END LOOP;
				IF (SELECT pg_catalog.count(*) FROM pg_temp.hanami_sharded_round) OPERATOR(pg_catalog.<>) n_shards THEN
					RAISE EXCEPTION 'a shard returned no network';
				END IF;
				EXIT;
			EXCEPTION WHEN OTHERS THEN
				tries := tries OPERATOR(pg_catalog.+) 1;
				IF tries OPERATOR(pg_catalog.>) 1 THEN
					PERFORM @extschema@.sharded_disconnect(dbl);
					RAISE EXCEPTION 'sharded training of model "%" failed in round % (tried twice): %', r.model, rnd, SQLERRM
						USING ERRCODE = '08006', DETAIL = 'Nothing was committed.';
				END IF;
				RAISE NOTICE 'round % of sharded training failed (%); trying it again on fresh connections', rnd, SQLERRM;
				retried := retried OPERATOR(pg_catalog.+) 1;
				PERFORM @extschema@.sharded_disconnect(dbl);
				PERFORM @extschema@.sharded_connect(dbl, shards);
			END;
		END LOOP;
		SELECT @extschema@.average(net, n) INTO cur FROM pg_temp.hanami_sharded_round WHERE n OPERATOR(pg_catalog.>) 0;
		IF cur IS NULL THEN
			RAISE EXCEPTION 'no shard trained on any row in round %', rnd USING ERRCODE = '22023';
		END IF;
		log := log OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
			'round', rnd,
			'loss', (SELECT pg_catalog.sum(loss OPERATOR(pg_catalog.*) n) OPERATOR(pg_catalog./) pg_catalog.sum(n) FROM pg_temp.hanami_sharded_round),
			'rows', (SELECT pg_catalog.sum(n) FROM pg_temp.hanami_sharded_round),
			'seconds', EXTRACT(epoch FROM pg_catalog.clock_timestamp() OPERATOR(pg_catalog.-) t0),
			'shard_rows', (SELECT pg_catalog.jsonb_agg(n ORDER BY shard) FROM pg_temp.hanami_sharded_round)));
	END LOOP;
	PERFORM @extschema@.sharded_disconnect(dbl);

	cid := @extschema@.commit_network(r.model_id, r.branch, head, cur, COALESCE(message, 'train_sharded'),
		pg_catalog.jsonb_build_object('shards', n_shards, 'rounds', rounds, 'local_epochs', local_epochs,
			'rows', total, 'retried_rounds', retried, 'loss', log OPERATOR(pg_catalog.->) -1 OPERATOR(pg_catalog.->) 'loss'));
	INSERT INTO @extschema@.training_log (commit_id, model_id, project, epoch, loss, rows_per_second, seconds)
	SELECT cid, r.model_id, r.project, (e OPERATOR(pg_catalog.->>) 'round')::pg_catalog.int4,
		   (e OPERATOR(pg_catalog.->>) 'loss')::pg_catalog.float8,
		   (e OPERATOR(pg_catalog.->>) 'rows')::pg_catalog.float8 OPERATOR(pg_catalog.*) local_epochs
			OPERATOR(pg_catalog./) GREATEST((e OPERATOR(pg_catalog.->>) 'seconds')::pg_catalog.float8, 1e-6),
		   (e OPERATOR(pg_catalog.->>) 'seconds')::pg_catalog.float8
	FROM pg_catalog.jsonb_array_elements(log) e;
	RETURN cid;
END
$$;

COMMENT ON FUNCTION @extschema@.train_sharded(pg_catalog.text, pg_catalog.text, pg_catalog.jsonb, pg_catalog.text) IS
	'train a dense model on rows spread over shards (dblink): scaling learned once from every shard, then rounds of local fits averaged by rows; options shards, rounds, local_epochs and fit options; one commit';

-- Compact weights: a dense network's weights as pow2, f16 or u8.
CREATE FUNCTION @extschema@.quantize(net @extschema@.network, dtype pg_catalog.text)
RETURNS @extschema@.network
AS 'MODULE_PATHNAME', 'hanami_quantize'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.quantize(@extschema@.network, pg_catalog.text) IS
	'a trained dense network with its weights stored as pow2 (signed powers of two), f16 or u8 (affine), for smaller values and inference';

-- Custom activations ---------------------------------------------------------
--
-- A custom activation is a pointwise function written as an expression in x,
-- with its derivative (in x and y, the function's value); docs/webai.md has
-- the language.  A network embeds the compiled pair it uses, so a stored
-- definition is only a name for a spec: redefining or dropping it never
-- changes a network that already holds it.  Definitions belong to projects
-- like models: members read them and create their own; their creator, the
-- project's admins and hanami admins replace or drop them.

CREATE FUNCTION @extschema@.check_activation(expression pg_catalog.text, derivative pg_catalog.text,
											 name pg_catalog.text DEFAULT NULL)
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'hanami_check_activation'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.check_activation(pg_catalog.text, pg_catalog.text, pg_catalog.text) IS
	'compile and check a custom activation (syntax, finite on [-8, 8], the derivative matching the function''s slope); its name and the texts as networks write them back';

CREATE TABLE @extschema@.activations (
	project pg_catalog.regrole NOT NULL,
	name pg_catalog.text NOT NULL
		CHECK (name OPERATOR(pg_catalog.~) '^[A-Za-z_][A-Za-z0-9_]{0,62}$'),
	expression pg_catalog.text NOT NULL,
	derivative pg_catalog.text NOT NULL,
	created_by pg_catalog.regrole NOT NULL DEFAULT CURRENT_USER::pg_catalog.regrole,
	created_at pg_catalog.timestamptz NOT NULL DEFAULT pg_catalog.now(),
	PRIMARY KEY (project, name),
	-- whatever writes a row, it holds a definition that compiles
	CHECK (@extschema@.check_activation(expression, derivative, name) IS NOT NULL)
);

COMMENT ON TABLE @extschema@.activations IS
	'custom activations by project: an expression in x and its derivative (in x and y); a spec names one as "activation": "name" in hanami.create_model';

ALTER TABLE @extschema@.activations ENABLE ROW LEVEL SECURITY;
ALTER TABLE @extschema@.activations FORCE ROW LEVEL SECURITY;

CREATE POLICY activations_read ON @extschema@.activations FOR SELECT
	USING (@extschema@.can_read(project));
CREATE POLICY activations_create ON @extschema@.activations FOR INSERT
	WITH CHECK (@extschema@.can_read(project)
				AND (created_by OPERATOR(pg_catalog.=) CURRENT_USER::pg_catalog.regrole
					 OR @extschema@.is_admin()));
CREATE POLICY activations_replace ON @extschema@.activations FOR UPDATE
	USING (@extschema@.can_write(project, created_by))
	WITH CHECK (@extschema@.can_write(project, created_by));
CREATE POLICY activations_drop ON @extschema@.activations FOR DELETE
	USING (@extschema@.can_write(project, created_by));

GRANT SELECT, INSERT, UPDATE, DELETE ON @extschema@.activations TO PUBLIC;

CREATE FUNCTION @extschema@.create_activation(name pg_catalog.text, expression pg_catalog.text,
											  derivative pg_catalog.text,
											  project pg_catalog.regrole DEFAULT NULL,
											  replace pg_catalog.bool DEFAULT false)
RETURNS pg_catalog.jsonb
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
DECLARE
	proj pg_catalog.regrole := COALESCE(project, CURRENT_USER::pg_catalog.regrole);
	n pg_catalog.int8;
BEGIN
	IF name IS NULL OR expression IS NULL OR derivative IS NULL THEN
		RAISE EXCEPTION 'name, expression and derivative must not be null' USING ERRCODE = '22004';
	END IF;
	IF NOT @extschema@.can_read(proj) THEN
		RAISE EXCEPTION 'permission denied for project %', proj USING ERRCODE = '42501',
			HINT = 'Ask a project admin to add you with hanami.add_member().';
	END IF;
	-- the engine's checks first: their errors say what is wrong
	PERFORM @extschema@.check_activation(expression, derivative, name);
	IF name OPERATOR(pg_catalog.!~) '^[A-Za-z_][A-Za-z0-9_]{0,62}$' THEN
		RAISE EXCEPTION 'invalid custom activation name "%"', name USING ERRCODE = '22023',
			DETAIL = 'A name starts with a letter or _ and has up to 63 letters, digits and _.';
	END IF;
	IF replace THEN
		UPDATE @extschema@.activations a
		SET expression = create_activation.expression, derivative = create_activation.derivative,
			created_by = CURRENT_USER::pg_catalog.regrole, created_at = pg_catalog.now()
		WHERE a.project OPERATOR(pg_catalog.=) proj AND a.name OPERATOR(pg_catalog.=) create_activation.name;
		GET DIAGNOSTICS n = ROW_COUNT;
		IF n OPERATOR(pg_catalog.=) 0 AND EXISTS (
			SELECT 1 FROM @extschema@.activations a
			WHERE a.project OPERATOR(pg_catalog.=) proj AND a.name OPERATOR(pg_catalog.=) create_activation.name) THEN
			RAISE EXCEPTION 'permission denied for custom activation "%"', name USING ERRCODE = '42501',
				DETAIL = 'Only its creator and the admins of its project may replace it.';
		END IF;
		IF n OPERATOR(pg_catalog.>) 0 THEN
			RETURN @extschema@.activation(name, proj);
		END IF;
	END IF;
	BEGIN
		INSERT INTO @extschema@.activations (project, name, expression, derivative)
		VALUES (proj, name, expression, derivative);
	EXCEPTION WHEN unique_violation THEN
		RAISE EXCEPTION 'custom activation "%" already exists in project %', name, proj USING ERRCODE = '42710',
			HINT = 'Pass replace => true to redefine it; networks that hold it keep theirs.';
	END;
	RETURN @extschema@.activation(name, proj);
END
$$;

COMMENT ON FUNCTION @extschema@.create_activation(pg_catalog.text, pg_catalog.text, pg_catalog.text, pg_catalog.regrole, pg_catalog.bool) IS
	'store a custom activation (expression in x, derivative in x and y) in a project (default: your own role) after the engine checked it; replace => true redefines an existing one, which never changes networks that hold it';

CREATE FUNCTION @extschema@.drop_activation(name pg_catalog.text, project pg_catalog.regrole DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
DECLARE
	proj pg_catalog.regrole := COALESCE(project, CURRENT_USER::pg_catalog.regrole);
BEGIN
	PERFORM @extschema@.activation(name, proj);
	DELETE FROM @extschema@.activations a
	WHERE a.project OPERATOR(pg_catalog.=) proj AND a.name OPERATOR(pg_catalog.=) drop_activation.name;
	IF NOT FOUND THEN
		RAISE EXCEPTION 'permission denied for custom activation "%"', name USING ERRCODE = '42501',
			DETAIL = 'Only its creator and the admins of its project may drop it.';
	END IF;
END
$$;

COMMENT ON FUNCTION @extschema@.drop_activation(pg_catalog.text, pg_catalog.regrole) IS
	'drop a stored custom activation (networks that hold it keep theirs)';

CREATE FUNCTION @extschema@.activation(name pg_catalog.text, project pg_catalog.regrole DEFAULT NULL)
RETURNS pg_catalog.jsonb
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
DECLARE
	r record;
BEGIN
	-- the project named, else the caller's own
	SELECT a.name, a.expression, a.derivative INTO r
	FROM @extschema@.activations a
	WHERE a.name OPERATOR(pg_catalog.=) activation.name
	  AND a.project OPERATOR(pg_catalog.=) COALESCE(activation.project, CURRENT_USER::pg_catalog.regrole);
	IF NOT FOUND THEN
		RAISE EXCEPTION 'custom activation "%" does not exist in project %', name,
			COALESCE(project, CURRENT_USER::pg_catalog.regrole) USING ERRCODE = '42704',
			HINT = 'Create it with hanami.create_activation(), or give it inline as {"name", "expression", "derivative"}.';
	END IF;
	RETURN pg_catalog.jsonb_build_object('name', r.name, 'expression', r.expression,
										 'derivative', r.derivative);
END
$$;

COMMENT ON FUNCTION @extschema@.activation(pg_catalog.text, pg_catalog.regrole) IS
	'a stored custom activation as the inline object a spec takes: {"name", "expression", "derivative"} (project default: your own role)';

CREATE FUNCTION @extschema@.resolve_activations(spec pg_catalog.jsonb, project pg_catalog.regrole)
RETURNS pg_catalog.jsonb
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
DECLARE
	layers pg_catalog.jsonb := '[]';
	l pg_catalog.jsonb;
	a pg_catalog.jsonb;
BEGIN
	IF spec IS NULL OR pg_catalog.jsonb_typeof(spec) OPERATOR(pg_catalog.<>) 'object' THEN
		RETURN spec;
	END IF;
	a := @extschema@.resolve_activation(spec OPERATOR(pg_catalog.->) 'activation', project);
	IF a IS NOT NULL THEN
		spec := pg_catalog.jsonb_set(spec, '{activation}', a);
	END IF;
	IF pg_catalog.jsonb_typeof(spec OPERATOR(pg_catalog.->) 'layers') OPERATOR(pg_catalog.=) 'array' THEN
		FOR l IN SELECT e FROM pg_catalog.jsonb_array_elements(spec OPERATOR(pg_catalog.->) 'layers') e LOOP
			IF pg_catalog.jsonb_typeof(l) OPERATOR(pg_catalog.=) 'object' THEN
				a := @extschema@.resolve_activation(l OPERATOR(pg_catalog.->) 'activation', project);
				IF a IS NOT NULL THEN
					l := pg_catalog.jsonb_set(l, '{activation}', a);
				END IF;
			END IF;
			layers := layers OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_array(l);
		END LOOP;
		spec := pg_catalog.jsonb_set(spec, '{layers}', layers);
	END IF;
	RETURN spec;
END
$$;

COMMENT ON FUNCTION @extschema@.resolve_activations(pg_catalog.jsonb, pg_catalog.regrole) IS
	'a spec with each activation that names a stored custom activation (of the project, else the caller''s own) given inline';

CREATE FUNCTION @extschema@.resolve_activation(act pg_catalog.jsonb, project pg_catalog.regrole)
RETURNS pg_catalog.jsonb
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT pg_catalog.jsonb_build_object('name', a.name, 'expression', a.expression,
										 'derivative', a.derivative)
	FROM @extschema@.activations a
	WHERE pg_catalog.jsonb_typeof(act) OPERATOR(pg_catalog.=) 'string'
	  AND a.name OPERATOR(pg_catalog.=) (act OPERATOR(pg_catalog.#>>) '{}')
	  AND a.project IN (project, CURRENT_USER::pg_catalog.regrole)
	ORDER BY a.project OPERATOR(pg_catalog.=) project DESC
	LIMIT 1
$$;

COMMENT ON FUNCTION @extschema@.resolve_activation(pg_catalog.jsonb, pg_catalog.regrole) IS
	'the inline object of a stored custom activation an "activation" value names (of the project, else the caller''s own), or NULL';

SELECT pg_catalog.pg_extension_config_dump('@extschema@.activations', '');

-- create_model gives an activation that names a stored custom activation inline
CREATE OR REPLACE FUNCTION @extschema@.create_model(name pg_catalog.text, spec pg_catalog.jsonb,
										 project pg_catalog.regrole DEFAULT NULL,
										 seed pg_catalog.int4 DEFAULT NULL)
RETURNS pg_catalog.int8
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
DECLARE
	proj pg_catalog.regrole := COALESCE(project, CURRENT_USER::pg_catalog.regrole);
	-- no seed, neither argument nor in the spec: a random one, so that two
	-- such models do not start from the same weights; an activation that
	-- names a stored custom activation is given inline (resolve_activations)
	net @extschema@.network := @extschema@.network(@extschema@.resolve_activations(spec, proj),
		CASE WHEN seed IS NULL AND NOT (spec OPERATOR(pg_catalog.?) 'seed')
			THEN pg_catalog.floor(pg_catalog.random() OPERATOR(pg_catalog.*) 2147483647)::pg_catalog.int4
			ELSE seed END);
	mid pg_catalog.int8;
BEGIN
	IF NOT @extschema@.can_read(proj) THEN
		RAISE EXCEPTION 'permission denied for project %', proj USING ERRCODE = '42501',
			HINT = 'Ask a project admin to add you with hanami.add_member().';
	END IF;
	BEGIN
		INSERT INTO @extschema@.model_catalog (project, name, kind)
		VALUES (proj, name, @extschema@.info(net) OPERATOR(pg_catalog.->>) 'kind')
		RETURNING id INTO mid;
	EXCEPTION WHEN unique_violation THEN
		RAISE EXCEPTION 'model "%" already exists in project %', name, proj USING ERRCODE = '42710';
	WHEN check_violation THEN
		RAISE EXCEPTION 'invalid model name "%"', name USING ERRCODE = '22023',
			HINT = 'Names may not contain /, @ or # or start with a space.';
	END;
	PERFORM @extschema@.commit_network(mid, 'main', NULL, net, 'create',
		pg_catalog.jsonb_build_object('seed', @extschema@.info(net) OPERATOR(pg_catalog.->) 'seed'));
	RETURN mid;
END
$$;

COMMENT ON FUNCTION @extschema@.create_model(pg_catalog.text, pg_catalog.jsonb, pg_catalog.regrole, pg_catalog.int4) IS
	'create a named model from a spec in a project (default: your own role), with a first commit on branch main; without a seed (argument or spec) the weights'' seed is random; the first commit''s metrics record it';

COMMENT ON FUNCTION @extschema@.capabilities() IS
	'what this build supports: network kinds, activations (custom_activations: the stored ones you can see), losses, optimizers, devices';

-- Nets inside nets: a layer {"net": "model@branch", ...} of a spec names a
-- stored network; it is resolved once, when the network is created, and
-- its text form (weights included) embedded, so the value stays
-- self-contained.  resolved: the spec with every such layer's network
-- inline; sources: {"layer": "project/model#commit"} for each (the layer's
-- name, or #index when it has none), NULL when there is none.  Resolution
-- runs as the caller, with the caller's read access (resolve and the
-- stores' row security): a network one cannot read cannot be embedded.
CREATE FUNCTION @extschema@.resolve_nets(spec pg_catalog.jsonb,
	OUT resolved pg_catalog.jsonb, OUT sources pg_catalog.jsonb)
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
DECLARE
	layers pg_catalog.jsonb := '[]';
	l pg_catalog.jsonb;
	i pg_catalog.int4 := 0;
	r record;
	n @extschema@.network;
BEGIN
	resolved := spec;
	IF spec IS NULL OR pg_catalog.jsonb_typeof(spec) OPERATOR(pg_catalog.<>) 'object'
	   OR pg_catalog.jsonb_typeof(spec OPERATOR(pg_catalog.->) 'layers') OPERATOR(pg_catalog.<>) 'array' THEN
		RETURN;
	END IF;
	FOR l IN SELECT e FROM pg_catalog.jsonb_array_elements(spec OPERATOR(pg_catalog.->) 'layers') e LOOP
		IF pg_catalog.jsonb_typeof(l) OPERATOR(pg_catalog.=) 'object'
		   AND pg_catalog.jsonb_typeof(l OPERATOR(pg_catalog.->) 'net') OPERATOR(pg_catalog.=) 'string' THEN
			SELECT * INTO r FROM @extschema@.resolve(l OPERATOR(pg_catalog.->>) 'net');
			n := @extschema@.load_commit(r.commit_id);
			IF n IS NULL THEN
				RAISE EXCEPTION 'permission denied for model "%"', l OPERATOR(pg_catalog.->>) 'net'
					USING ERRCODE = '42501';
			END IF;
			l := pg_catalog.jsonb_set(l, '{net}', n::pg_catalog.text::pg_catalog.jsonb);
			sources := COALESCE(sources, '{}') OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(
				COALESCE(l OPERATOR(pg_catalog.->>) 'name', '#' OPERATOR(pg_catalog.||) i::pg_catalog.text),
				r.project::pg_catalog.text OPERATOR(pg_catalog.||) '/' OPERATOR(pg_catalog.||) r.model
					OPERATOR(pg_catalog.||) '#' OPERATOR(pg_catalog.||) r.commit_id::pg_catalog.text);
		END IF;
		layers := layers OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_array(l);
		i := i OPERATOR(pg_catalog.+) 1;
	END LOOP;
	resolved := pg_catalog.jsonb_set(spec, '{layers}', layers);
END
$$;

COMMENT ON FUNCTION @extschema@.resolve_nets(pg_catalog.jsonb) IS
	'a spec whose layers {"net": "reference"} get the stored network''s text form inline (resolved now, as the caller), and the commit each came from';

-- create_model embeds the stored networks a spec's layers name
-- (resolve_nets) and records where they came from
CREATE OR REPLACE FUNCTION @extschema@.create_model(name pg_catalog.text, spec pg_catalog.jsonb,
										 project pg_catalog.regrole DEFAULT NULL,
										 seed pg_catalog.int4 DEFAULT NULL)
RETURNS pg_catalog.int8
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
DECLARE
	proj pg_catalog.regrole := COALESCE(project, CURRENT_USER::pg_catalog.regrole);
	-- no seed, neither argument nor in the spec: a random one, so that two
	-- such models do not start from the same weights; an activation that
	-- names a stored custom activation is given inline (resolve_activations),
	-- and so is a layer's stored network (resolve_nets)
	nets record := @extschema@.resolve_nets(spec);
	net @extschema@.network := @extschema@.network(@extschema@.resolve_activations(nets.resolved, proj),
		CASE WHEN seed IS NULL AND NOT (spec OPERATOR(pg_catalog.?) 'seed')
			THEN pg_catalog.floor(pg_catalog.random() OPERATOR(pg_catalog.*) 2147483647)::pg_catalog.int4
			ELSE seed END);
	mid pg_catalog.int8;
BEGIN
	IF NOT @extschema@.can_read(proj) THEN
		RAISE EXCEPTION 'permission denied for project %', proj USING ERRCODE = '42501',
			HINT = 'Ask a project admin to add you with hanami.add_member().';
	END IF;
	BEGIN
		INSERT INTO @extschema@.model_catalog (project, name, kind)
		VALUES (proj, name, @extschema@.info(net) OPERATOR(pg_catalog.->>) 'kind')
		RETURNING id INTO mid;
	EXCEPTION WHEN unique_violation THEN
		RAISE EXCEPTION 'model "%" already exists in project %', name, proj USING ERRCODE = '42710';
	WHEN check_violation THEN
		RAISE EXCEPTION 'invalid model name "%"', name USING ERRCODE = '22023',
			HINT = 'Names may not contain /, @ or # or start with a space.';
	END;
	PERFORM @extschema@.commit_network(mid, 'main', NULL, net, 'create',
		pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object('seed', @extschema@.info(net) OPERATOR(pg_catalog.->) 'seed',
			'embedded', nets.sources)));
	RETURN mid;
END
$$;

COMMENT ON FUNCTION @extschema@.create_model(pg_catalog.text, pg_catalog.jsonb, pg_catalog.regrole, pg_catalog.int4) IS
	'create a named model from a spec in a project (default: your own role), with a first commit on branch main; without a seed (argument or spec) the weights'' seed is random; the first commit''s metrics record it';

-- Inputs and outputs by layer name

CREATE FUNCTION @extschema@.run_named(net @extschema@.network, inputs pg_catalog.jsonb)
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'hanami_run_named'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.run_named(@extschema@.network, pg_catalog.jsonb) IS
	'run() by layer names: {"layer": [values], ...} for every input layer in, {"layer": [values], ...} for every output layer out';

CREATE FUNCTION @extschema@.predict_named(model pg_catalog.text, inputs pg_catalog.jsonb)
RETURNS pg_catalog.jsonb
AS 'MODULE_PATHNAME', 'hanami_predict_named'
LANGUAGE C STABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.predict_named(pg_catalog.text, pg_catalog.jsonb) IS
	'run_named() on a stored model: the outputs of every output layer for the values of every input layer (the reference is resolved once per statement)';

-- run with reset carries the history of graph layers too
COMMENT ON FUNCTION @extschema@.run(@extschema@.network, pg_catalog.float4[], pg_catalog.bool) IS
	'the outputs for one row of a sequence: the state of a spiking network, or of a graph''s layers with a history, carries over from the previous call of the query; reset clears it first';
