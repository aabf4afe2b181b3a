-- docs/operations.md: a trained model to export, a project to import into,
-- and chunks staged in a table.
SELECT hanami.create_model('churn', '{"layers": [12, 16, 2]}', seed => 1);
SELECT hanami.train('churn', 'SELECT features, churned FROM churn_train', '{"epochs": 2}');
SELECT hanami.create_project('fraud_team');
CREATE SCHEMA staging;
CREATE TABLE staging.exports (name text, ordinal bigint GENERATED ALWAYS AS IDENTITY, chunk bytea);
INSERT INTO staging.exports (name, chunk) SELECT 'churn', c FROM hanami.export('churn') c;
