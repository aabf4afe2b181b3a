-- Access to named models ----------------------------------------------------
--
-- Named models live in projects, with their branches, commits and blocks.
-- A project is a PostgreSQL role; without one, a user's own role is the
-- project.  Members of the project role may read its models and create their
-- own; members holding ADMIN OPTION on it (project admins) and members of
-- hanami_admin may write every model.  Every table has row-level security
-- enabled and forced; all functions are SECURITY INVOKER.
--
-- This part holds the hanami_admin role and the tests of who may read and
-- write; the tables and their policies follow (40_store.sql).

DO $$
BEGIN
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = 'hanami_admin') THEN
		CREATE ROLE hanami_admin NOLOGIN;
	END IF;
END
$$;

GRANT USAGE ON SCHEMA @extschema@ TO PUBLIC;

CREATE FUNCTION @extschema@.is_admin()
RETURNS pg_catalog.bool
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT pg_catalog.pg_has_role(CURRENT_USER, 'hanami_admin', 'USAGE') $$;

COMMENT ON FUNCTION @extschema@.is_admin() IS
	'whether the current role is a hanami administrator (member of hanami_admin)';

CREATE FUNCTION @extschema@.can_read(project pg_catalog.regrole)
RETURNS pg_catalog.bool
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT COALESCE(pg_catalog.pg_has_role(CURRENT_USER, project, 'USAGE'), false)
		OR @extschema@.is_admin()
$$;

COMMENT ON FUNCTION @extschema@.can_read(pg_catalog.regrole) IS
	'whether the current role may use the models of a project (member of its role)';

CREATE FUNCTION @extschema@.can_write(project pg_catalog.regrole, owner pg_catalog.regrole)
RETURNS pg_catalog.bool
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
	SELECT (owner OPERATOR(pg_catalog.=) CURRENT_USER::pg_catalog.regrole
			AND @extschema@.can_read(project))
		OR COALESCE(pg_catalog.pg_has_role(CURRENT_USER, project, 'USAGE WITH ADMIN OPTION'), false)
		OR @extschema@.is_admin()
$$;

COMMENT ON FUNCTION @extschema@.can_write(pg_catalog.regrole, pg_catalog.regrole) IS
	'whether the current role may write a model: its owner, a project admin, or a hanami admin';
