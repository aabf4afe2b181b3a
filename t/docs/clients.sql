-- docs/clients.md: a trained classifier of quadrants, and a table of
-- saved network values.
CREATE TABLE quadrant_points AS
SELECT ARRAY[(g % 10) / 10.0, (g / 10 % 10) / 10.0]::real[] AS x,
       ((g % 10) >= 5)::int + 2 * ((g / 10 % 10) >= 5)::int AS quadrant
FROM generate_series(0, 99) g;
SELECT hanami.create_model('quadrants', '{"layers": [2, 16, 4]}', seed => 1);
SELECT hanami.train('quadrants', 'SELECT x, quadrant FROM quadrant_points', '{"epochs": 5}');
CREATE TABLE saved (name text PRIMARY KEY, net hanami.network);
