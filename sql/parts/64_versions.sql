-- Versioning -----------------------------------------------------------------

CREATE FUNCTION @extschema@.branch(model pg_catalog.text, name pg_catalog.text,
								   from_ref pg_catalog.text DEFAULT NULL)
RETURNS pg_catalog.int8
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
DECLARE
	r record;
	src record;
BEGIN
	SELECT * INTO r FROM @extschema@.resolve(model);
	SELECT * INTO src FROM @extschema@.resolve(COALESCE(from_ref, model));
	IF src.model_id OPERATOR(pg_catalog.<>) r.model_id THEN
		RAISE EXCEPTION '"%" is not a reference into model "%"', from_ref, r.model USING ERRCODE = '22023';
	END IF;
	PERFORM @extschema@.check_write(r.project, r.owner, r.model);
	BEGIN
		INSERT INTO @extschema@.branches (model_id, project, name, head)
		VALUES (r.model_id, r.project, name, src.commit_id);
	EXCEPTION WHEN unique_violation THEN
		RAISE EXCEPTION 'branch "%" already exists in model "%"', name, r.model USING ERRCODE = '42710';
	WHEN check_violation THEN
		RAISE EXCEPTION 'invalid branch name "%"', name USING ERRCODE = '22023';
	END;
	RETURN src.commit_id;
END
$$;

COMMENT ON FUNCTION @extschema@.branch(pg_catalog.text, pg_catalog.text, pg_catalog.text) IS
	'create a branch of a model starting at a reference (default: the head of main); returns its head commit';

CREATE FUNCTION @extschema@.reset(ref pg_catalog.text, commit_id pg_catalog.int8)
RETURNS pg_catalog.int8
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
DECLARE
	r record;
BEGIN
	IF pg_catalog.strpos(ref, '#') OPERATOR(pg_catalog.>) 0 THEN
		RAISE EXCEPTION 'reset moves a branch: use model@branch' USING ERRCODE = '22023';
	END IF;
	SELECT * INTO r FROM @extschema@.resolve(ref);
	PERFORM @extschema@.check_write(r.project, r.owner, r.model);
	IF NOT EXISTS (SELECT 1 FROM @extschema@.commits k
				   WHERE k.id OPERATOR(pg_catalog.=) reset.commit_id
					 AND k.model_id OPERATOR(pg_catalog.=) r.model_id) THEN
		RAISE EXCEPTION 'commit % does not exist in model "%"', commit_id, r.model USING ERRCODE = '42704';
	END IF;
	UPDATE @extschema@.branches b SET head = reset.commit_id, updated_at = pg_catalog.now()
	WHERE b.model_id OPERATOR(pg_catalog.=) r.model_id AND b.name OPERATOR(pg_catalog.=) r.branch;
	RETURN r.commit_id;
END
$$;

COMMENT ON FUNCTION @extschema@.reset(pg_catalog.text, pg_catalog.int8) IS
	'move a branch (model@branch, default main) to a commit of the model; returns the commit it pointed at before';

CREATE FUNCTION @extschema@.log(model pg_catalog.text)
RETURNS TABLE (commit_id pg_catalog.int8, parent pg_catalog.int8, branch pg_catalog.text,
			   message pg_catalog.text, author pg_catalog.regrole,
			   created_at pg_catalog.timestamptz, metrics pg_catalog.jsonb, bytes pg_catalog.int8)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	WITH RECURSIVE r AS (
		SELECT * FROM @extschema@.resolve($1)
	), chain AS (
		SELECT k.* FROM @extschema@.commits k, r WHERE k.id OPERATOR(pg_catalog.=) r.commit_id
		UNION ALL
		SELECT k.* FROM @extschema@.commits k JOIN chain c ON k.id OPERATOR(pg_catalog.=) c.parent
	)
	SELECT id, parent, branch, message, author, created_at, metrics, bytes FROM chain
	ORDER BY id DESC
$$;

COMMENT ON FUNCTION @extschema@.log(pg_catalog.text) IS
	'the history of a reference: its commit and every ancestor, newest first';

CREATE FUNCTION @extschema@.diff(a pg_catalog.text, b pg_catalog.text)
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

CREATE FUNCTION @extschema@.tree(model pg_catalog.text)
RETURNS pg_catalog.jsonb
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	WITH r AS (SELECT * FROM @extschema@.resolve($1))
	SELECT pg_catalog.jsonb_build_object(
		'model', r.model, 'project', r.project::pg_catalog.text, 'owner', r.owner::pg_catalog.text,
		'kind', (SELECT m.kind FROM @extschema@.model_catalog m WHERE m.id OPERATOR(pg_catalog.=) r.model_id),
		'branches', COALESCE((
			SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
				'name', b.name, 'head', b.head,
				'commits', (SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
								'id', l.commit_id, 'parent', l.parent, 'message', l.message,
								'author', l.author::pg_catalog.text, 'created_at', l.created_at,
								'metrics', l.metrics) ORDER BY l.commit_id DESC)
							FROM @extschema@.log(r.model || '@' || b.name) l))
				ORDER BY b.name)
			FROM @extschema@.branches b WHERE b.model_id OPERATOR(pg_catalog.=) r.model_id), '[]'))
	FROM r
$$;

COMMENT ON FUNCTION @extschema@.tree(pg_catalog.text) IS
	'a model with its branches and each branch''s commits (dates, messages, metrics) as one JSON tree';

CREATE FUNCTION @extschema@.gc()
RETURNS pg_catalog.int8
LANGUAGE sql VOLATILE PARALLEL UNSAFE
AS $$
	WITH gone AS (
		DELETE FROM @extschema@.blocks b
		WHERE NOT EXISTS (SELECT 1 FROM @extschema@.commit_blocks cb
						  WHERE cb.project OPERATOR(pg_catalog.=) b.project
							AND cb.hash OPERATOR(pg_catalog.=) b.hash)
		RETURNING 1
	)
	SELECT pg_catalog.count(*) FROM gone
$$;

COMMENT ON FUNCTION @extschema@.gc() IS
	'delete the blocks no commit uses, in the projects the current role can see; returns how many';

CREATE VIEW @extschema@.models WITH (security_invoker = true) AS
SELECT m.name, m.project, m.owner, m.kind, m.created_at,
	   (SELECT pg_catalog.count(*) FROM @extschema@.branches b WHERE b.model_id OPERATOR(pg_catalog.=) m.id) AS branches,
	   (SELECT pg_catalog.count(*) FROM @extschema@.commits k WHERE k.model_id OPERATOR(pg_catalog.=) m.id) AS commits,
	   (SELECT b.head FROM @extschema@.branches b
		WHERE b.model_id OPERATOR(pg_catalog.=) m.id AND b.name OPERATOR(pg_catalog.=) 'main') AS main_head,
	   (SELECT pg_catalog.max(k.created_at) FROM @extschema@.commits k WHERE k.model_id OPERATOR(pg_catalog.=) m.id) AS updated_at,
	   m.id AS model_id
FROM @extschema@.model_catalog m;

COMMENT ON VIEW @extschema@.models IS
	'the models the current role can see, with branch and commit counts and the head of main';

GRANT SELECT ON @extschema@.models TO PUBLIC;
