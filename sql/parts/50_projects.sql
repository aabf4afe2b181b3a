-- Projects -------------------------------------------------------------------

CREATE FUNCTION @extschema@.create_project(project pg_catalog.text)
RETURNS pg_catalog.regrole
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
DECLARE
	r pg_catalog.regrole;
BEGIN
	IF project IS NULL OR project OPERATOR(pg_catalog.=) '' THEN
		RAISE EXCEPTION 'project name must not be empty' USING ERRCODE = '22023';
	END IF;
	IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) project) THEN
		EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', project);
		EXECUTE pg_catalog.format('GRANT %I TO %I WITH ADMIN OPTION', project, CURRENT_USER);
	END IF;
	r := pg_catalog.quote_ident(project)::pg_catalog.regrole;
	INSERT INTO @extschema@.projects (project) VALUES (r) ON CONFLICT DO NOTHING;
	RETURN r;
END
$$;

COMMENT ON FUNCTION @extschema@.create_project(pg_catalog.text) IS
	'register a role as a project (creating it NOLOGIN if needed, which needs CREATEROLE); the creator becomes its admin';

CREATE FUNCTION @extschema@.add_member(project pg_catalog.regrole, member pg_catalog.regrole,
									   role pg_catalog.text DEFAULT 'member')
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
BEGIN
	IF role IS NULL OR role NOT IN ('member', 'admin') THEN
		RAISE EXCEPTION 'project role must be "member" or "admin"' USING ERRCODE = '22023';
	END IF;
	IF role OPERATOR(pg_catalog.=) 'admin' THEN
		EXECUTE pg_catalog.format('GRANT %s TO %s WITH ADMIN OPTION', project, member);
	ELSE
		IF EXISTS (SELECT 1 FROM pg_catalog.pg_auth_members a
				   WHERE a.roleid OPERATOR(pg_catalog.=) project
					 AND a.member OPERATOR(pg_catalog.=) add_member.member AND a.admin_option) THEN
			EXECUTE pg_catalog.format('REVOKE ADMIN OPTION FOR %s FROM %s', project, member);
		END IF;
		EXECUTE pg_catalog.format('GRANT %s TO %s', project, member);
	END IF;
END
$$;

COMMENT ON FUNCTION @extschema@.add_member(pg_catalog.regrole, pg_catalog.regrole, pg_catalog.text) IS
	'add a role to a project as member (uses the project''s models, writes its own) or admin (writes every model); needs ADMIN OPTION on the project';

CREATE FUNCTION @extschema@.remove_member(project pg_catalog.regrole, member pg_catalog.regrole)
RETURNS void
LANGUAGE plpgsql VOLATILE PARALLEL UNSAFE
AS $$
BEGIN
	EXECUTE pg_catalog.format('REVOKE %s FROM %s', project, member);
END
$$;

COMMENT ON FUNCTION @extschema@.remove_member(pg_catalog.regrole, pg_catalog.regrole) IS
	'remove a role from a project; needs ADMIN OPTION on the project';

CREATE VIEW @extschema@.my_projects WITH (security_invoker = true) AS
SELECT p.project,
	   CASE WHEN pg_catalog.pg_has_role(CURRENT_USER, p.project, 'USAGE WITH ADMIN OPTION')
				 OR @extschema@.is_admin() THEN 'admin' ELSE 'member' END AS role,
	   p.created_by, p.created_at
FROM @extschema@.projects p
WHERE @extschema@.can_read(p.project)
UNION ALL
SELECT CURRENT_USER::pg_catalog.regrole, 'admin', CURRENT_USER::pg_catalog.regrole, NULL
WHERE NOT EXISTS (SELECT 1 FROM @extschema@.projects p
				  WHERE p.project OPERATOR(pg_catalog.=) CURRENT_USER::pg_catalog.regrole);

COMMENT ON VIEW @extschema@.my_projects IS
	'the projects the current role belongs to (its own role always), with its role in each';
GRANT SELECT ON @extschema@.my_projects TO PUBLIC;
