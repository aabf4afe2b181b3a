-- what the snippets of docs/growing.md assume besides setup.sql: a table of
-- raw sensor readings and a growing model named sensors
CREATE TABLE readings AS
SELECT g AS t, ARRAY[(g % 9) * 1000.0, (g % 4) * 0.01, (g % 5)::real]::real[] AS x,
       (g % 9 >= 6)::int AS alarm
FROM generate_series(1, 600) g;
SELECT hanami.create_model('sensors', '{"kind": "hanami", "layers": [3, 32, 2]}', seed => 1);
