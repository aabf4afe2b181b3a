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
