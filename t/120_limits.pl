# t/120_limits.pl - job limits and fairness: one transaction's many jobs
# never take more than hanami.max_workers worker slots; another tenant's job
# starts before one tenant's backlog; a job submitted in a rolled-back
# savepoint never starts; reap_jobs() (and so wait()) sees workers that
# started after its transaction first looked at pg_stat_activity.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use HanamiFixture;
use Time::HiRes qw(usleep time);

my $node = HanamiFixture::node('limits', 'hanami.max_workers = 2', 'max_worker_processes = 20', 'log_min_messages = debug1');
$node->safe_psql('postgres', q{
	CREATE EXTENSION hanami;
	CREATE ROLE alice LOGIN;
	CREATE ROLE bob LOGIN;
	CREATE TABLE pts AS SELECT (g % 2)::real AS a, ((g / 2) % 2)::real AS b, ((g % 2) # ((g / 2) % 2)) AS y
		FROM generate_series(1, 200) g;
	GRANT SELECT ON pts TO PUBLIC;
});

sub as
{
	my ($role, $sql) = @_;
	return $node->safe_psql('postgres', $sql, extra_params => [ '-U', $role ]);
}
as('alice', q{SELECT hanami.create_model('a', '{"layers": [2, 8, 2]}', seed => 1)});
as('bob', q{SELECT hanami.create_model('b', '{"layers": [2, 8, 2]}', seed => 1)});

# 1. one transaction queues six jobs: it starts max_workers workers, not six
my $log_pos = -s $node->logfile;
my @six = split /\n/, as('alice', q{BEGIN;
	SELECT hanami.train_async('a', 'SELECT a, b, y FROM pts', '{"epochs": 1000000}') FROM generate_series(1, 6);
	COMMIT;});
ok($node->poll_query_until('postgres', q{SELECT count(*) = 2 FROM hanami.job_queue WHERE state = 'running'}),
	'two of the six jobs run');
usleep(500_000);
my @launched = (slurp_file($node->logfile, $log_pos) =~ /starting background worker process "hanami training job (\d+)"/g);
is(scalar(@launched), 2, 'the committing transaction started 2 workers for its 6 jobs (max_workers), not 6');
is($node->safe_psql('postgres', q{SELECT count(*) FROM hanami.job_queue WHERE state = 'queued'}), '4', 'the other four wait in the queue');
$node->safe_psql('postgres', q{SELECT hanami.cancel(id) FROM hanami.job_queue WHERE state IN ('queued', 'running')});
ok($node->poll_query_until('postgres', q{SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'hanami training job'}),
	'all stopped');

# 2. fairness: bob's one job starts before alice's backlog
$node->safe_psql('postgres', 'DELETE FROM hanami.job_queue');
my @alice = split /\n/, as('alice', q{BEGIN;
	SELECT hanami.train_async('a', 'SELECT a, b, y FROM pts', '{"epochs": 100000, "timeout": 3}') FROM generate_series(1, 5);
	COMMIT;});
ok($node->poll_query_until('postgres', q{SELECT count(*) = 2 FROM hanami.job_queue WHERE state = 'running'}),
	"two of alice's five jobs run");
my $bob = as('bob', q{SELECT hanami.train_async('b', 'SELECT a, b, y FROM pts', '{"epochs": 1}')});
is(as('bob', "SELECT hanami.wait($bob, '60 s')"), 'succeeded', "bob's job succeeds");
my $queued_alice = $node->safe_psql('postgres', qq{SELECT count(*) FROM hanami.job_queue
	WHERE submitted_by = 'alice'::regrole AND started_at > (SELECT started_at FROM hanami.job_queue WHERE id = $bob)});
# first come, first served would start it after all three
cmp_ok($queued_alice, '>=', 1, "bob's job started before some of alice's queued jobs ($queued_alice of 3)");
$node->safe_psql('postgres', q{SELECT hanami.cancel(id) FROM hanami.job_queue WHERE state IN ('queued', 'running')});

# 3. a job queued in a savepoint that rolled back is never started
$node->safe_psql('postgres', 'DELETE FROM hanami.job_queue');
$log_pos = -s $node->logfile;
as('alice', q{BEGIN;
	SAVEPOINT s;
	SELECT hanami.train_async('a', 'SELECT a, b, y FROM pts', '{"epochs": 1}');
	ROLLBACK TO SAVEPOINT s;
	COMMIT;});
my $kept = as('alice', q{SELECT hanami.train_async('a', 'SELECT a, b, y FROM pts', '{"epochs": 1}')});
is(as('alice', "SELECT hanami.wait($kept, '60 s')"), 'succeeded', 'a job queued after it runs');
my $log = slurp_file($node->logfile, $log_pos);
my @started = ($log =~ /starting background worker process "hanami training job (\d+)"/g);
is_deeply(\@started, [$kept], 'only that job got a worker: none for the rolled-back one');

# 4. reap_jobs() sees a worker that started after the transaction first
#    read pg_stat_activity (wait() calls it in a loop, in one transaction)
my $bg = $node->background_psql('postgres', extra_params => [ '-U', 'alice' ]);
$bg->query_safe('BEGIN');
$bg->query_safe('SELECT count(*) FROM pg_stat_activity');
my $long = as('alice', q{SELECT hanami.train_async('a', 'SELECT a, b, y FROM pts', '{"epochs": 1000000}')});
ok($node->poll_query_until('postgres', "SELECT state = 'running' FROM hanami.job_queue WHERE id = $long"), 'a long job runs');
is($bg->query_safe('SELECT hanami.reap_jobs()'), '0', 'reap_jobs in that transaction does not take the new worker for gone');
$bg->query_safe('COMMIT');
$bg->quit;
is($node->safe_psql('postgres', "SELECT state FROM hanami.job_queue WHERE id = $long"), 'running', 'the job still runs');
as('alice', "SELECT hanami.cancel($long)");
is(as('alice', "SELECT hanami.wait($long, '60 s')"), 'cancelled', 'and is cancelled');

$node->stop;
done_testing();
