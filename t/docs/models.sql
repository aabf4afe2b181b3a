-- docs/models.md: the roles of the project examples.
DO $$BEGIN
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'alice') THEN
		CREATE ROLE alice LOGIN;
	END IF;
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bob') THEN
		CREATE ROLE bob LOGIN;
	END IF;
END$$;
