# t/040_jobs.pl - background training jobs: success and commit, identity and
# row-level security in the worker, cancel, revoked access, max_workers
# queueing, kill -9 of a worker and of the server (the job runs again),
# DROP DATABASE.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('jobs');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'hanami'
hanami.max_workers = 2
max_worker_processes = 16
restart_after_crash = on
});
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION hanami;
	CREATE ROLE alice LOGIN;
	CREATE ROLE bob LOGIN;
	CREATE TABLE pts AS SELECT (g % 2)::real AS a, ((g / 2) % 2)::real AS b, ((g % 2) # ((g / 2) % 2)) AS y
		FROM generate_series(1, 400) g;
	GRANT SELECT ON pts TO PUBLIC;
	-- a table split by row-level security: bob's labels are out of range for
	-- a 2-class model, so a job that saw them would fail
	CREATE TABLE secret (owner name, a real, b real, y int);
	INSERT INTO secret SELECT 'alice', a, b, y FROM pts;
	INSERT INTO secret SELECT 'bob', a, b, 5 FROM pts LIMIT 50;
	ALTER TABLE secret ENABLE ROW LEVEL SECURITY;
	CREATE POLICY own ON secret USING (owner = current_user);
	GRANT SELECT ON secret TO PUBLIC;
	SELECT hanami.create_project('team');
	SELECT hanami.add_member('team', 'alice', 'admin');
});

sub psql_as
{
	my ($role, $sql) = @_;
	return $node->safe_psql('postgres', $sql, extra_params => [ '-U', $role ]);
}

# Wait until a job reaches a state; tolerates a server in crash recovery.
sub wait_state
{
	my ($job, $want, $timeout) = @_;
	local $PostgreSQL::Test::Utils::timeout_default = $timeout;
	$node->poll_query_until('postgres', "SELECT state FROM hanami.job_queue WHERE id = $job", $want);
	return $node->safe_psql('postgres', "SELECT state FROM hanami.job_queue WHERE id = $job");
}

# 1. a job succeeds, as its submitter, and stores its commit
psql_as('alice', q{SELECT hanami.create_model('xor', '{"layers": [2, 8, 2], "activation": "tanh"}', seed => 1)});
my $job = psql_as('alice', q{SELECT hanami.train_async('xor',
	'SELECT a, b, y FROM pts WHERE current_user = ''alice''',
	'{"epochs": 50, "learning_rate": 0.05, "batch_size": 8}')});
is(psql_as('alice', "SELECT hanami.wait($job, '60 s')"), 'succeeded', 'job succeeds (its query ran as alice)');
is(psql_as('alice', "SELECT commit_id = (SELECT max(commit_id) FROM hanami.log('xor')) FROM hanami.jobs WHERE id = $job"),
	't', 'the job stored the head commit of main');
is(psql_as('alice', "SELECT count(*) FROM hanami.training_log WHERE job_id = $job"), '50', 'one training_log row per epoch');
is(psql_as('alice', "SELECT progress, epoch FROM hanami.jobs WHERE id = $job"), '100.0|50', 'progress is complete');
is(psql_as('alice', q{SELECT string_agg(hanami.predict_class('xor', ARRAY[a, b]::real[])::text, ',' ORDER BY a, b) FROM (VALUES (0, 0), (0, 1), (1, 0), (1, 1)) v(a, b)}),
	'0,1,1,0', 'the trained model predicts xor');

# 2. row-level security applies inside the worker
$job = psql_as('alice', q{SELECT hanami.train_async('xor', 'SELECT a, b, y FROM secret', '{"epochs": 2}')});
is(psql_as('alice', "SELECT hanami.wait($job, '60 s')"), 'succeeded', 'job over an RLS table sees only alice\'s rows');
is(psql_as('alice', "SELECT (metrics->>'rows')::int FROM hanami.log('xor') LIMIT 1"), '400', 'trained on exactly alice\'s 400 rows');
my ($ret, $out, $err) = $node->psql('postgres', q{SELECT hanami.train_async('xor', 'SELECT a, b, y FROM pts')},
	extra_params => [ '-U', 'bob' ]);
like($err, qr/model "xor" does not exist/, 'bob cannot submit a job on alice\'s model');
is(psql_as('bob', 'SELECT count(*) FROM hanami.jobs'), '0', 'bob sees none of alice\'s jobs');

# 3. a project role without LOGIN: SET ROLE in a login session; the job runs as the project role
psql_as('alice', q{SET ROLE team; SELECT hanami.create_model('teamnet', '{"layers": [2, 8, 2]}', 'team', 2)});
$job = psql_as('alice', q{SET ROLE team; SELECT hanami.train_async('teamnet', 'SELECT a, b, y FROM pts WHERE current_user = ''team''', '{"epochs": 2}')});
is(psql_as('alice', "SELECT hanami.wait($job, '60 s')"), 'succeeded', 'a job submitted under SET ROLE runs as that role');
is(psql_as('alice', "SELECT submitted_by FROM hanami.jobs WHERE id = $job"), 'team', 'submitted_by is the current role');

# 4. cancel stops a running job within about a second, branch unchanged
my $head = psql_as('alice', q{SELECT max(commit_id) FROM hanami.log('xor')});
$job = psql_as('alice', q{SELECT hanami.train_async('xor', 'SELECT a, b, y FROM pts', '{"epochs": 1000000}')});
is(wait_state($job, 'running', 30), 'running', 'long job is running');
usleep(500_000);
my $t0 = [Time::HiRes::gettimeofday];
psql_as('alice', "SELECT hanami.cancel($job)");
is(psql_as('alice', "SELECT hanami.wait($job, '30 s')"), 'cancelled', 'cancelled job ends as cancelled');
cmp_ok(Time::HiRes::tv_interval($t0), '<', 3, 'cancel took effect within a few seconds');
is(psql_as('alice', q{SELECT max(commit_id) FROM hanami.log('xor')}), $head, 'branch unchanged by the cancelled job');
$job = psql_as('alice', q{BEGIN; SELECT hanami.train_async('xor', 'SELECT a, b, y FROM pts', '{"epochs": 1}'); ROLLBACK; SELECT 0});
is($node->safe_psql('postgres', 'SELECT count(*) FROM hanami.job_queue WHERE state = \'queued\''), '0',
	'a rolled-back submit leaves no job');

# 5. revoking access mid-job stops it
$job = psql_as('alice', q{SELECT hanami.train_async('team/teamnet', 'SELECT a, b, y FROM pts', '{"epochs": 1000000}')});
is(wait_state($job, 'running', 30), 'running', 'team job is running as alice');
$node->safe_psql('postgres', 'REVOKE team FROM alice');
is(wait_state($job, 'failed', 30), 'failed', 'job fails once alice leaves the project');
like($node->safe_psql('postgres', "SELECT error FROM hanami.job_queue WHERE id = $job"),
	qr/no longer visible|permission denied|does not exist|row-level security/, 'with an error about access');
$node->safe_psql('postgres', q{GRANT team TO alice WITH ADMIN OPTION});

# 6. max_workers: the third job waits in the queue while two run
# (timeouts 4, 8 and 12 s: the first ends well before the second, and the
# two stay running long enough to be seen, however slow the machine)
my @jobs = map {
	psql_as('alice', qq{SELECT hanami.train_async('xor', 'SELECT a, b, y FROM pts', '{"epochs": 1000000, "timeout": @{[4 * $_]}}')})
} 1 .. 3;
ok($node->poll_query_until('postgres',
	"SELECT string_agg(state, ',' ORDER BY id) FROM hanami.job_queue WHERE id IN (@{[join(',', @jobs)]})",
	'running,running,queued'), 'two jobs run, the third is queued');
# the queued job starts once a slot is free, from the head it finds then
like(psql_as('alice', "SELECT hanami.wait($jobs[2], '60 s')"), qr/^(succeeded|failed)$/, 'the queued job runs later')
	or diag($node->safe_psql('postgres', "SELECT error FROM hanami.job_queue WHERE id = $jobs[2]"));
is($node->safe_psql('postgres', "SELECT string_agg(state, ',' ORDER BY id) FROM hanami.job_queue WHERE id IN ($jobs[0], $jobs[1])"),
	'succeeded,failed', 'concurrent jobs on one branch: the first commits, the other fails clearly');
like($node->safe_psql('postgres', "SELECT error FROM hanami.job_queue WHERE id = $jobs[1]"),
	qr/moved while the job ran/, 'a job whose branch moved fails instead of losing the other update');

# 7. kill -9 of a worker: crash recovery, the job resumes in a new worker
# (t/190_job_resume.pl checks what it resumes from), and cancel still ends it
$job = psql_as('alice', q{SELECT hanami.train_async('xor', 'SELECT a, b, y FROM pts', '{"epochs": 1000000}')});
is(wait_state($job, 'running', 30), 'running', 'job running before kill -9');
my $pid = $node->safe_psql('postgres', "SELECT worker_pid FROM hanami.job_queue WHERE id = $job");
kill 'KILL', $pid;
ok($node->poll_query_until('postgres', "SELECT state = 'running' AND worker_pid <> $pid AND note ~ '^(resumed|restarted)' "
	. "FROM hanami.job_queue WHERE id = $job"), 'killed worker\'s job runs again after recovery');
psql_as('alice', "SELECT hanami.cancel($job)");
is(wait_state($job, 'cancelled', 60), 'cancelled', 'and is cancelled like any running job');
is(psql_as('alice', q{SELECT count(*) FROM hanami.log('xor')}), psql_as('alice', q{SELECT count(*) FROM hanami.commits c JOIN hanami.model_catalog m ON m.id = c.model_id WHERE m.name = 'xor' AND c.branch = 'main'}),
	'history intact after the crash');

# 8. kill -9 of the server (immediate stop) mid-job
$job = psql_as('alice', q{SELECT hanami.train_async('xor', 'SELECT a, b, y FROM pts', '{"epochs": 1000000}')});
is(wait_state($job, 'running', 30), 'running', 'job running before the server is killed');
$node->stop('immediate');
$node->start;
ok($node->poll_query_until('postgres', "SELECT state = 'running' AND note ~ '^(resumed|restarted)' "
	. "FROM hanami.job_queue WHERE id = $job"), 'after restart the launcher starts the interrupted job again');
psql_as('alice', "SELECT hanami.cancel($job)");
is(wait_state($job, 'cancelled', 60), 'cancelled', 'which is then cancelled');
$job = psql_as('alice', q{SELECT hanami.train_async('xor', 'SELECT a, b, y FROM pts', '{"epochs": 1}')});
is(psql_as('alice', "SELECT hanami.wait($job, '60 s')"), 'succeeded', 'new jobs run after the restart');

# 9. DROP DATABASE during a job stops its worker
$node->safe_psql('postgres', 'CREATE DATABASE other');
$node->safe_psql('other', q{CREATE EXTENSION hanami; CREATE TABLE pts AS SELECT 1.0::real AS a, 0 AS y FROM generate_series(1, 100);
	SELECT hanami.create_model('m', '{"layers": [1, 4, 2]}', seed => 1)});
my $ojob = $node->safe_psql('other', q{SELECT hanami.train_async('m', 'SELECT a, y FROM pts', '{"epochs": 1000000}')});
my $running = 0;
for (1 .. 100)
{
	$running = $node->safe_psql('postgres', q{SELECT count(*) FROM pg_stat_activity a JOIN pg_database d ON d.oid = a.datid WHERE d.datname = 'other' AND a.backend_type = 'hanami training job'});
	last if $running;
	usleep(100_000);
}
is($running, '1', 'a job runs in the other database');
$node->safe_psql('postgres', 'DROP DATABASE other WITH (FORCE)');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'hanami training job'}), '0',
	'DROP DATABASE stopped its worker');

# 10. DROP EXTENSION during a job stops its worker
$node->safe_psql('postgres', 'CREATE DATABASE third');
$node->safe_psql('third', q{CREATE EXTENSION hanami; CREATE TABLE pts AS SELECT 1.0::real AS a, 0 AS y FROM generate_series(1, 100);
	SELECT hanami.create_model('m', '{"layers": [1, 4, 2]}', seed => 1)});
$node->safe_psql('third', q{SELECT hanami.train_async('m', 'SELECT a, y FROM pts', '{"epochs": 1000000}')});
ok($node->poll_query_until('postgres',
	q{SELECT count(*) = 1 FROM pg_stat_activity a JOIN pg_database d ON d.oid = a.datid WHERE d.datname = 'third' AND a.backend_type = 'hanami training job'}),
	'a job runs in the third database');
# models are stored: dropping them is confirmed with the superuser setting
$node->safe_psql('third', 'SET hanami.allow_drop_with_models = on; DROP EXTENSION hanami CASCADE');
ok($node->poll_query_until('postgres',
	q{SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'hanami training job'}),
	'DROP EXTENSION stopped its worker');

$node->stop;
done_testing();
