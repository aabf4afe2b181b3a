-- Refs and commits -----------------------------------------------------------

-- Resolve "[project/]model[@branch|#commit]" to a model and a commit.
CREATE FUNCTION @extschema@.resolve(ref pg_catalog.text,
	OUT model_id pg_catalog.int8, OUT project pg_catalog.regrole, OUT model pg_catalog.text,
	OUT owner pg_catalog.regrole, OUT branch pg_catalog.text, OUT commit_id pg_catalog.int8)
LANGUAGE plpgsql STABLE PARALLEL SAFE
AS $$
DECLARE
	rest pg_catalog.text := ref;
	proj pg_catalog.text;
	c pg_catalog.text;
	n pg_catalog.int4;
BEGIN
	IF ref IS NULL THEN
		RAISE EXCEPTION 'model reference must not be null' USING ERRCODE = '22004';
	END IF;
	IF pg_catalog.strpos(rest, '#') OPERATOR(pg_catalog.>) 0 THEN
		c := pg_catalog.split_part(rest, '#', 2);
		rest := pg_catalog.split_part(rest, '#', 1);
		IF c !~ '^[0-9]{1,18}$' THEN
			RAISE EXCEPTION 'invalid model reference "%"', ref USING ERRCODE = '22023',
				HINT = 'Write model, model@branch, model#commit or project/model.';
		END IF;
	END IF;
	IF pg_catalog.strpos(rest, '@') OPERATOR(pg_catalog.>) 0 THEN
		branch := pg_catalog.split_part(rest, '@', 2);
		rest := pg_catalog.split_part(rest, '@', 1);
	END IF;
	IF pg_catalog.strpos(rest, '/') OPERATOR(pg_catalog.>) 0 THEN
		proj := pg_catalog.split_part(rest, '/', 1);
		rest := pg_catalog.substr(rest, pg_catalog.strpos(rest, '/') OPERATOR(pg_catalog.+) 1);
	END IF;
	IF rest OPERATOR(pg_catalog.=) '' OR branch OPERATOR(pg_catalog.=) '' OR (c IS NOT NULL AND branch IS NOT NULL) THEN
		RAISE EXCEPTION 'invalid model reference "%"', ref USING ERRCODE = '22023',
			HINT = 'Write model, model@branch, model#commit or project/model.';
	END IF;
	model := rest;

	SELECT pg_catalog.count(*), pg_catalog.min(m.id) INTO n, model_id
	FROM @extschema@.model_catalog m JOIN pg_catalog.pg_roles r ON r.oid OPERATOR(pg_catalog.=) m.project
	WHERE m.name OPERATOR(pg_catalog.=) model AND (proj IS NULL OR r.rolname OPERATOR(pg_catalog.=) proj);
	IF n OPERATOR(pg_catalog.=) 0 THEN
		RAISE EXCEPTION 'model "%" does not exist', rest USING ERRCODE = '42704';
	ELSIF n OPERATOR(pg_catalog.>) 1 THEN
		RAISE EXCEPTION 'model name "%" is ambiguous', rest USING ERRCODE = '42725',
			HINT = 'Qualify it with its project: project/model.';
	END IF;
	SELECT m.project, m.owner INTO project, owner FROM @extschema@.model_catalog m
	WHERE m.id OPERATOR(pg_catalog.=) model_id;

	IF c IS NOT NULL THEN
		SELECT k.id INTO commit_id FROM @extschema@.commits k
		WHERE k.id OPERATOR(pg_catalog.=) c::pg_catalog.int8 AND k.model_id OPERATOR(pg_catalog.=) resolve.model_id;
		IF commit_id IS NULL THEN
			RAISE EXCEPTION 'commit % does not exist in model "%"', c, model USING ERRCODE = '42704';
		END IF;
		RETURN;
	END IF;
	branch := COALESCE(branch, 'main');
	SELECT b.head INTO commit_id FROM @extschema@.branches b
	WHERE b.model_id OPERATOR(pg_catalog.=) resolve.model_id AND b.name OPERATOR(pg_catalog.=) branch;
	IF commit_id IS NULL THEN
		RAISE EXCEPTION 'branch "%" does not exist in model "%"', branch, model USING ERRCODE = '42704';
	END IF;
END
$$;

COMMENT ON FUNCTION @extschema@.resolve(pg_catalog.text) IS
	'the model, branch and commit a reference ([project/]model[@branch|#commit]) names';

-- Write net as a new commit of a model on a branch; moves the branch head.
CREATE FUNCTION @extschema@.commit_network(model_id pg_catalog.int8, branch pg_catalog.text,
										   parent pg_catalog.int8, net @extschema@.network,
										   message pg_catalog.text, metrics pg_catalog.jsonb)
RETURNS pg_catalog.int8
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
DECLARE
	proj pg_catalog.regrole;
	cid pg_catalog.int8;
BEGIN
	SELECT m.project INTO proj FROM @extschema@.model_catalog m WHERE m.id OPERATOR(pg_catalog.=) commit_network.model_id;
	IF proj IS NULL THEN
		RAISE EXCEPTION 'model % does not exist', model_id USING ERRCODE = '42704';
	END IF;
	INSERT INTO @extschema@.commits (model_id, project, parent, branch, message, metrics, bytes)
	VALUES (model_id, proj, parent, branch, COALESCE(message, ''), COALESCE(metrics, '{}'),
			pg_catalog.length(net::pg_catalog.bytea))
	RETURNING id INTO cid;

	WITH b AS (
		SELECT g.seq, g.segment, g.data, pg_catalog.sha256(g.data) AS hash
		FROM @extschema@.network_blocks(net) g
	), added AS (
		INSERT INTO @extschema@.blocks (project, hash, data)
		SELECT DISTINCT ON (b.hash) proj, b.hash, b.data FROM b
		ON CONFLICT DO NOTHING
	)
	INSERT INTO @extschema@.commit_blocks (commit_id, seq, project, segment, hash)
	SELECT cid, b.seq, proj, b.segment, b.hash FROM b;

	INSERT INTO @extschema@.branches AS x (model_id, project, name, head)
	VALUES (model_id, proj, branch, cid)
	ON CONFLICT ON CONSTRAINT branches_pkey DO UPDATE SET head = excluded.head, updated_at = pg_catalog.now();
	RETURN cid;
END
$$;

COMMENT ON FUNCTION @extschema@.commit_network(pg_catalog.int8, pg_catalog.text, pg_catalog.int8, @extschema@.network, pg_catalog.text, pg_catalog.jsonb) IS
	'store a network as a new commit (its blocks deduplicated within the project) and point the branch at it';

CREATE FUNCTION @extschema@.network_blocks(net @extschema@.network,
	OUT seq pg_catalog.int4, OUT segment pg_catalog.text, OUT data pg_catalog.bytea)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'hanami_network_blocks'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION @extschema@.network_blocks(@extschema@.network) IS
	'the blocks a network is stored as, in order: header, then each layer''s parameters in pieces of at most 32 kB';

CREATE FUNCTION @extschema@.load_commit(commit_id pg_catalog.int8)
RETURNS @extschema@.network
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT pg_catalog.string_agg(b.data, ''::pg_catalog.bytea ORDER BY cb.seq)::@extschema@.network
	FROM @extschema@.commit_blocks cb
	JOIN @extschema@.blocks b ON b.project OPERATOR(pg_catalog.=) cb.project AND b.hash OPERATOR(pg_catalog.=) cb.hash
	WHERE cb.commit_id OPERATOR(pg_catalog.=) $1
$$;

COMMENT ON FUNCTION @extschema@.load_commit(pg_catalog.int8) IS
	'the network stored by a commit, reassembled from its blocks';
