-- Run by docker-entrypoint.sh once, when the container initialises an empty
-- data directory, in the database POSTGRES_DB (default postgres).
CREATE EXTENSION IF NOT EXISTS hanami;

-- pg_cron lives in cron.database_name ('postgres' in this image).
\connect postgres
CREATE EXTENSION IF NOT EXISTS pg_cron;
