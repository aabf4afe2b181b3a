# t/050_cron.pl - scheduled retraining: pg_cron runs hanami.train_async every
# minute as an ordinary role, and the jobs train the model.  Waits up to
# about a minute and a half for the first run (pg_cron has minute granularity).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('cron');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'hanami,pg_cron'
cron.database_name = 'postgres'
cron.use_background_workers = on
max_worker_processes = 20
});
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION hanami;
	CREATE EXTENSION pg_cron;
	CREATE ROLE alice LOGIN;
	GRANT USAGE ON SCHEMA cron TO alice;
	CREATE TABLE pts AS SELECT (g % 2)::real AS a, (g % 2) AS y FROM generate_series(1, 200) g;
	GRANT SELECT ON pts TO alice;
});
$node->safe_psql('postgres', q{
	SELECT hanami.create_model('nightly', '{"layers": [1, 4, 2]}', seed => 1);
	SELECT cron.schedule('retrain-nightly', '* * * * *',
		$$SELECT hanami.train_async('nightly', 'SELECT a, y FROM pts', '{"epochs": 3}', 'scheduled retraining')$$);
}, extra_params => [ '-U', 'alice' ]);

local $PostgreSQL::Test::Utils::timeout_default = 150;
ok($node->poll_query_until('postgres',
	q{SELECT count(*) > 0 FROM hanami.job_queue WHERE state = 'succeeded'}),
	'pg_cron started a training job that succeeded');
is($node->safe_psql('postgres', q{SELECT submitted_by FROM hanami.job_queue ORDER BY id LIMIT 1}),
	'alice', 'the scheduled job ran as the role that scheduled it');
is($node->safe_psql('postgres', q{SELECT message FROM hanami.log('nightly') LIMIT 1}, extra_params => [ '-U', 'alice' ]),
	'scheduled retraining', 'the scheduled job committed to the model');

$node->safe_psql('postgres', q{SELECT cron.unschedule('retrain-nightly')}, extra_params => [ '-U', 'alice' ]);
$node->stop;
done_testing();
