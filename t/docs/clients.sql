-- docs/clients.md: a trained classifier of quadrants, and a table of
-- saved network values.
CREATE TABLE quadrant_points AS
SELECT ARRAY[(g % 10) / 10.0, (g / 10 % 10) / 10.0]::real[] AS x,
       ((g % 10) >= 5)::int + 2 * ((g / 10 % 10) >= 5)::int AS quadrant
FROM generate_series(0, 99) g;
SELECT hanami.create_model('quadrants', '{"layers": [2, 16, 4]}', seed => 1);
SELECT hanami.train('quadrants', 'SELECT x, quadrant FROM quadrant_points', '{"epochs": 5}');
CREATE TABLE saved (name text PRIMARY KEY, net hanami.network);
-- the Node section: a model of the iris flowers, network values in a table
CREATE TABLE iris_rows AS
SELECT ARRAY[4.5 + (g % 7) * 0.4, 2.5 + (g % 5) * 0.2, 1.0 + (g % 3) * 2.5, 0.2 + (g % 3) * 0.9]::real[] AS x,
       (g % 3) AS species
FROM generate_series(1, 150) g;
SELECT hanami.create_model('iris', '{"layers": [4, 8, 3]}', seed => 1);
SELECT hanami.train('iris', 'SELECT x, species FROM iris_rows', '{"epochs": 5}');
CREATE TABLE models (name text PRIMARY KEY, net hanami.network);
INSERT INTO models SELECT 'iris', hanami.load('iris');
SELECT hanami.create_model('iris_copy', '{"layers": [4, 8, 3]}', seed => 2);
