-- docs/jobs.md: a named model, the role that schedules, and its events.
SELECT hanami.create_model('churn', '{"layers": [12, 16, 2]}', seed => 1);
DO $$BEGIN
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'analyst') THEN
		CREATE ROLE analyst;
	END IF;
END$$;
CREATE TABLE events AS SELECT features, churned, current_date AS day FROM churn_all;
