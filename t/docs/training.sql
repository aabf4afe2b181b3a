-- docs/training.md: network values in a table of models.
CREATE TABLE models (name text PRIMARY KEY, net hanami.network);
INSERT INTO models VALUES ('digits', hanami.network('{"layers": [64, 32, 10]}', 1));
