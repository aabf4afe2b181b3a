-- docs/devices.md: network values in a table of models, a model of the
-- digits in a table of its own, and a named model.
CREATE TABLE models (name text PRIMARY KEY, net hanami.network);
INSERT INTO models VALUES
	('digits', hanami.network('{"layers": [64, 32, 10]}', 1)),
	('wide', hanami.network('{"layers": [64, 128, 10]}', 2));
CREATE TABLE digits_model AS SELECT net FROM models WHERE name = 'digits';
SELECT hanami.create_model('digits', '{"layers": [64, 32, 10]}', seed => 1);
