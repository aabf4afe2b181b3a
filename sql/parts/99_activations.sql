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
