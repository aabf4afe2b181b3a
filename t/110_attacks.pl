# t/110_attacks.pl - a hostile tenant's attacks, each asserted to fail for
# the right reason: forged or hijacked background jobs, internal functions,
# planted blocks, references into another project, eavesdropping on job
# notifications, growing networks' jobs, and jobs that never start or hold
# others up.  Every role here is an ordinary role without BYPASSRLS.
#
#   team     project: alice (admin), bob (member)
#   mallory  another tenant (her own project), with a schema of her own
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use HanamiFixture;
use Time::HiRes qw(usleep time);

my $node = HanamiFixture::node('attacks', 'hanami.max_workers = 2', 'max_worker_processes = 16');

$node->safe_psql('postgres', q{
	CREATE EXTENSION hanami;
	CREATE ROLE alice LOGIN;
	CREATE ROLE bob LOGIN;
	CREATE ROLE mallory LOGIN;
	CREATE SCHEMA mallory AUTHORIZATION mallory;
	CREATE TABLE pts AS SELECT (g % 2)::real AS a, ((g / 2) % 2)::real AS b, ((g % 2) # ((g / 2) % 2)) AS y
		FROM generate_series(1, 400) g;
	GRANT SELECT ON pts TO PUBLIC;
	SELECT hanami.create_project('team');
	SELECT hanami.add_member('team', 'alice', 'admin');
	SELECT hanami.add_member('team', 'bob', 'member');
	CREATE TABLE spy (job text, cur name, ses name);
	GRANT INSERT ON spy TO PUBLIC;
});

sub as
{
	my ($role, $sql) = @_;
	return $node->safe_psql('postgres', $sql, extra_params => [ '-U', $role ]);
}

# Run sql as role; it must fail; returns the error text.
sub fails
{
	my ($role, $sql) = @_;
	my ($ret, $out, $err) = $node->psql('postgres', $sql, extra_params => [ '-U', $role ]);
	return $ret == 0 ? "(no error: $out)" : $err;
}

sub wait_job
{
	my ($job) = @_;
	return $node->safe_psql('postgres', "SELECT hanami.wait($job, '60 s')");
}

as('alice', q{SELECT hanami.create_model('iris', '{"layers": [2, 8, 2]}', 'team', 1)});
as('mallory', q{SELECT hanami.create_model('mine', '{"layers": [2, 8, 2]}', seed => 2)});
my $alice_model = $node->safe_psql('postgres', q{SELECT id FROM hanami.model_catalog WHERE name = 'iris'});
my $alice_commit = $node->safe_psql('postgres', q{SELECT max(id) FROM hanami.commits WHERE model_id = (SELECT id FROM hanami.model_catalog WHERE name = 'iris')});
my $mine = $node->safe_psql('postgres', q{SELECT id FROM hanami.model_catalog WHERE name = 'mine'});
my $alice_job = as('alice', q{SELECT hanami.train_async('team/iris', 'SELECT a, b, y FROM pts', '{"epochs": 2}')});
is(wait_job($alice_job), 'succeeded', "alice's job succeeds");
my $nonexistent = 987654;
# the bootstrap superuser: the OS user that ran initdb
my $superuser = $node->safe_psql('postgres', q{SELECT rolname FROM pg_roles WHERE oid = 10});

# ---------------------------------------------------------------- 1. forged jobs
like(fails('mallory', qq{INSERT INTO hanami.job_queue (model_id, project, model, branch, query, login_role)
	VALUES ($mine, 'mallory', 'mine', 'main', 'SELECT 1', '$superuser')}),
	qr/permission denied for table job_queue/, 'a tenant cannot insert a job row naming another login role');
like(fails('mallory', qq{INSERT INTO hanami.job_queue (model_id, project, model, branch, query)
	VALUES ($mine, 'mallory', 'mine', 'main', 'SELECT 1')}),
	qr/permission denied for table job_queue/, 'a tenant cannot insert a job row at all');
like(fails('mallory', qq{SELECT hanami.launch_at_commit($alice_job)}),
	qr/permission denied for function launch_at_commit/, 'launch_at_commit is not executable by PUBLIC');
my $own = as('mallory', q{SELECT hanami.train_async('mine', 'SELECT a, b, y FROM pts', '{"epochs": 1}')});
wait_job($own);
like(fails('mallory', qq{UPDATE hanami.job_queue SET login_role = '$superuser', state = 'queued' WHERE id = $own}),
	qr/permission denied for table job_queue/, 'a tenant cannot rewrite the identity or state of her own job');
is($node->safe_psql('postgres', "SELECT submitted_by || ' ' || login_role FROM hanami.job_queue WHERE id = $own"),
	'mallory mallory', 'the identity of a job is what the server recorded');

# the job's own code cannot undo its identity
my %escape = (
	'set_config role' => q{PERFORM set_config('role', 'none', false)},
	'RESET ROLE' => q{RESET ROLE},
	'SET ROLE' => q{SET ROLE postgres},
	'SET SESSION AUTHORIZATION' => q{SET SESSION AUTHORIZATION postgres},
	'ALTER ROLE' => q{ALTER ROLE mallory SUPERUSER},
);
for my $how (sort keys %escape)
{
	my $fn = 'escape_' . ($how =~ s/\W+/_/gr);
	as('mallory', qq{CREATE FUNCTION mallory.$fn() RETURNS TABLE (a real, b real, y int) LANGUAGE plpgsql AS \$f\$
		BEGIN $escape{$how}; INSERT INTO public.spy VALUES ('$how', current_user, session_user);
		RETURN QUERY SELECT p.a, p.b, p.y FROM public.pts p; END \$f\$});
	my $job = as('mallory', qq{SELECT hanami.train_async('mine', 'SELECT * FROM mallory.$fn()', '{"epochs": 1}')});
	is(wait_job($job), 'failed', "job code trying $how fails");
	like($node->safe_psql('postgres', "SELECT error FROM hanami.job_queue WHERE id = $job"),
		qr/cannot set parameter|permission denied to alter role|must be superuser/, "$how: refused for the right reason");
}
is($node->safe_psql('postgres', q{SELECT count(*) FROM spy}), '0', 'no escaping job code ran past its attempt');
is($node->safe_psql('postgres', q{SELECT rolsuper FROM pg_roles WHERE rolname = 'mallory'}), 'f', 'mallory is not a superuser');
as('mallory', q{CREATE FUNCTION mallory.whoami() RETURNS TABLE (a real, b real, y int) LANGUAGE sql AS $f$
	INSERT INTO public.spy VALUES ('whoami', current_user, session_user); SELECT p.a, p.b, p.y FROM public.pts p $f$});
my $who = as('mallory', q{SELECT hanami.train_async('mine', 'SELECT * FROM mallory.whoami()', '{"epochs": 1}')});
is(wait_job($who), 'succeeded', 'a job reading through a function runs');
is($node->safe_psql('postgres', q{SELECT cur || ' ' || ses FROM spy WHERE job = 'whoami'}), 'mallory mallory',
	'inside a job current_user and session_user are the submitter');
as('mallory', q{CREATE FUNCTION mallory.tmp() RETURNS TABLE (a real, b real, y int) LANGUAGE plpgsql AS $f$
	BEGIN CREATE TEMP TABLE t (i int); RETURN QUERY SELECT p.a, p.b, p.y FROM public.pts p; END $f$});
my $tmp = as('mallory', q{SELECT hanami.train_async('mine', 'SELECT * FROM mallory.tmp()', '{"epochs": 1}')});
wait_job($tmp);
like($node->safe_psql('postgres', "SELECT error FROM hanami.job_queue WHERE id = $tmp"),
	qr/cannot create temporary table within security-restricted operation/,
	'job code runs as a security-restricted operation (no temporary objects)');

# ---------------------------------------------------------------- 2. internal functions
my $hidden_msg = fails('mallory', qq{SELECT hanami.submit_job($alice_model, 'main', 'SELECT a, b, y FROM pts', '{}', NULL, 1)});
like($hidden_msg, qr/branch "main" of model $alice_model does not exist/, "submit_job on another project's model is refused");
like(fails('mallory', qq{SELECT hanami.submit_job($nonexistent, 'main', 'SELECT 1', '{}', NULL, 1)}),
	qr/branch "main" of model $nonexistent does not exist/, 'the same answer as for a model that does not exist');
like(fails('bob', qq{SELECT hanami.submit_job($alice_model, 'main', 'SELECT a, b, y FROM pts', '{}', NULL, 1)}),
	qr/permission denied for model "iris"/, "a member cannot submit a job on the admin's model");
like(fails('mallory', "SELECT hanami.cancel($alice_job)"), qr/job $alice_job does not exist/,
	"another project's job cannot be cancelled (it is not visible)");
like(fails('mallory', "SELECT hanami.cancel($nonexistent)"), qr/job $nonexistent does not exist/,
	'the same answer as for a job that does not exist');
my $alice_job2 = as('alice', q{SELECT hanami.train_async('team/iris', 'SELECT a, b, y FROM pts', '{"epochs": 1}')});
wait_job($alice_job2);
like(fails('bob', "SELECT hanami.cancel($alice_job2)"), qr/permission denied to cancel job/,
	'a member who may read a job but not write its model cannot cancel it');
is(as('mallory', 'SELECT hanami.reap_jobs()'), '0', 'reap_jobs is callable and harmless');
is($node->safe_psql('postgres', "SELECT state FROM hanami.job_queue WHERE id = $alice_job"), 'succeeded',
	"and leaves others' jobs as they were");

# ---------------------------------------------------------------- 3. planted blocks
my $good = q{sha256('\x0102'::bytea)};
like(fails('bob', qq{INSERT INTO hanami.blocks VALUES ('team', sha256('other'::bytea), '\\x0102')}),
	qr/row-level security|does not match its hash/, 'a member without a model of his own cannot add blocks');
as('bob', q{SELECT hanami.create_model('bobs', '{"layers": [2, 3, 2]}', 'team', 5)});
like(fails('bob', qq{INSERT INTO hanami.blocks VALUES ('team', sha256('other'::bytea), '\\x0102')}),
	qr/block [0-9a-f]{64} of project team does not match its hash/, 'a writer cannot store bytes under another hash');
like(fails('mallory', qq{INSERT INTO hanami.blocks VALUES ('team', $good, '\\x0102')}),
	qr/row-level security policy for table "blocks"/, "a tenant cannot add blocks to another project");
# the admin's next commit stores exactly its network's bytes
my $net_md5 = as('alice', q{SELECT md5(hanami.fit(hanami.load('team/iris'), 'SELECT a, b, y FROM pts', '{"epochs": 1, "seed": 3}')::bytea)});
my $c = as('alice', q{SELECT hanami.save('team/iris', hanami.fit(hanami.load('team/iris'), 'SELECT a, b, y FROM pts', '{"epochs": 1, "seed": 3}'), 'saved')});
is(as('alice', "SELECT md5(hanami.load('team/iris#$c')::bytea)"), $net_md5, "a commit stores exactly its network's bytes");
is($node->safe_psql('postgres', q{SELECT count(*) FROM hanami.blocks WHERE sha256(data) <> hash}), '0', 'every stored block matches its hash');

# ---------------------------------------------------------------- 4. references into another project
my $parent_hidden = fails('mallory', qq{INSERT INTO hanami.commits (model_id, project, parent, branch, bytes)
	VALUES ($mine, 'mallory', $alice_commit, 'x', 1)});
my $parent_missing = fails('mallory', qq{INSERT INTO hanami.commits (model_id, project, parent, branch, bytes)
	VALUES ($mine, 'mallory', $nonexistent, 'x', 1)});
like($parent_hidden, qr/parent commit $alice_commit does not exist in the model/, "a commit cannot name another project's commit as parent");
is($parent_hidden =~ s/\d+//gr, $parent_missing =~ s/\d+//gr, 'the error is the same as for a commit that does not exist');
for my $col ('commit_id', 'job_id')
{
	my $id = $col eq 'commit_id' ? $alice_commit : $alice_job;
	my $hidden = fails('mallory', qq{INSERT INTO hanami.training_log ($col, model_id, project, epoch) VALUES ($id, $mine, 'mallory', 1)});
	my $missing = fails('mallory', qq{INSERT INTO hanami.training_log ($col, model_id, project, epoch) VALUES ($nonexistent, $mine, 'mallory', 1)});
	like($hidden, qr/row-level security policy for table "training_log"/, "training_log cannot point at another project's $col");
	is($hidden, $missing, "$col: the error is the same as for an id that does not exist");
}
my $mine_commit = $node->safe_psql('postgres', "SELECT max(id) FROM hanami.commits WHERE model_id = $mine");
like(fails('mallory', qq{INSERT INTO hanami.commit_blocks SELECT $alice_commit, 99, 'mallory', 'x', hash FROM hanami.blocks WHERE project = 'mallory'::regrole LIMIT 1}),
	qr/row-level security policy for table "commit_blocks"/, "commit_blocks cannot point at another project's commit");
my $branch_hidden = fails('mallory', qq{INSERT INTO hanami.branches (model_id, project, name, head) VALUES ($mine, 'mallory', 'evil', $alice_commit)});
my $branch_missing = fails('mallory', qq{INSERT INTO hanami.branches (model_id, project, name, head) VALUES ($mine, 'mallory', 'evil', $nonexistent)});
is($branch_hidden =~ s/\d+//gr, $branch_missing =~ s/\d+//gr, "a branch head naming another project's commit fails like a missing one");
# nothing pins the victim's rows: reset, drop and gc go through
as('alice', qq{SELECT hanami.reset('team/iris', $alice_commit)});
as('alice', q{SELECT hanami.drop_model('team/iris')});
cmp_ok(as('alice', q{SELECT hanami.gc()}), '>', 0, "the victim's drop_model, reset and gc are not blocked");

# ---------------------------------------------------------------- 5. notifications
as('alice', q{SELECT hanami.create_model('slow', '{"layers": [2, 64, 2]}', 'team', 1)});
my $listen_out = as('alice', q{
	SELECT hanami.train_async('team/slow', 'SELECT a, b, y FROM pts', '{"epochs": 40, "batch_size": 1}') AS j \gset
	SELECT channel FROM hanami.jobs WHERE id = :j \gset
	LISTEN :"channel";
	SELECT hanami.wait(:j, '60 s');
	SELECT 1;
});
like($listen_out, qr/Asynchronous notification "hanami_job_[0-9a-f]{32}" with payload "epoch \d+" received/,
	"the job's reader hears its progress on the job's channel");
# another tenant listens on every name it can guess for the next jobs
my $next = $node->safe_psql('postgres', q{SELECT max(id) + 1 FROM hanami.job_queue});
my $bg = $node->background_psql('postgres', extra_params => [ '-U', 'mallory' ]);
$bg->query_safe(join(' ', map { "LISTEN hanami_job_$_; LISTEN \"hanami_job_$_\";" } $next .. $next + 2)
	. ' LISTEN hanami_job; LISTEN hanami;');
my $alice_jobs = as('alice', q{SELECT hanami.train_async('team/slow', 'SELECT a, b, y FROM pts', '{"epochs": 20, "batch_size": 1}')});
is($alice_jobs, $next, 'the job got the id that was listened for');
is(wait_job($alice_jobs), 'succeeded', "alice's job ran while another tenant listened");
my $eaves = $bg->query_safe('SELECT pg_sleep(0.2); SELECT 1;');
# the same session does hear a notification on one of those channels
$node->safe_psql('postgres', q{NOTIFY hanami_job, 'control'});
like($bg->query_safe('SELECT pg_sleep(0.2); SELECT 1;'), qr/Asynchronous notification "hanami_job" with payload "control"/,
	'(control: the listening session reports what it hears)');
$bg->quit;
unlike($eaves, qr/Asynchronous notification/, "another tenant hears nothing of the project's jobs");
is(as('mallory', "SELECT count(*) FROM hanami.jobs WHERE id = $alice_jobs"), '0', 'nor sees their channel');

# ---------------------------------------------------------------- 5b. growing networks' jobs
# the growing kind's jobs are jobs like any other: hidden from other
# tenants, stopped only by writers, and their queries run as the submitter
as('alice', q{SELECT hanami.create_model('sprout', '{"kind": "hanami", "layers": [2, 16, 2]}', 'team', 1)});
my $grow_job = as('alice', q{SELECT hanami.train_async('team/sprout', 'SELECT a, b, y FROM pts', '{"epochs": 1000000}')});
ok($node->poll_query_until('postgres', "SELECT epoch >= 1 FROM hanami.job_queue WHERE id = $grow_job"),
	"alice's growing job runs");
is(as('mallory', "SELECT count(*) FROM hanami.jobs WHERE id = $grow_job"), '0', 'another tenant does not see the growing job');
is(as('mallory', "SELECT count(*) FROM hanami.training_log WHERE job_id = $grow_job"), '0', 'nor its learning curve');
like(fails('mallory', "SELECT hanami.stop($grow_job)"), qr/job $grow_job does not exist/, 'nor can she stop it');
like(fails('mallory', "SELECT hanami.cancel($grow_job)"), qr/job $grow_job does not exist/, 'or cancel it');
like(fails('mallory', q{SELECT hanami.predict_class('team/sprout', ARRAY[0, 1]::real[])}), qr/does not exist/,
	'or predict with the growing model');
like(fails('bob', "SELECT hanami.stop($grow_job)"), qr/permission denied to stop job/,
	'a member who may read the job but not write its model cannot stop it');
is(as('bob', "SELECT state FROM hanami.jobs WHERE id = $grow_job"), 'running', 'though he sees it run');
# a tenant's growing job whose query reaches for the model of another project
as('mallory', q{SELECT hanami.create_model('weeds', '{"kind": "hanami", "layers": [2, 8, 2]}', seed => 2)});
as('mallory', q{CREATE FUNCTION mallory.peek() RETURNS TABLE (a real, b real, y int) LANGUAGE sql AS $f$
	SELECT p.a, p.b, hanami.predict_class('team/sprout', ARRAY[p.a, p.b]) FROM public.pts p $f$});
my $peek = as('mallory', q{SELECT hanami.train_async('weeds', 'SELECT * FROM mallory.peek()', '{"epochs": 1}')});
is(wait_job($peek), 'failed', "a growing job's query cannot read another project's model");
like($node->safe_psql('postgres', "SELECT error FROM hanami.job_queue WHERE id = $peek"), qr/does not exist/,
	'its error is that of a model that does not exist');
is(as('alice', "SELECT hanami.stop($grow_job)"), 't', 'the growing job\'s writer stops it');
is(wait_job($grow_job), 'succeeded', 'and it commits what it grew');
is(as('alice', "SELECT l.metrics->>'stop' FROM hanami.jobs j JOIN hanami.log('team/sprout') l ON l.commit_id = j.commit_id WHERE j.id = $grow_job"),
	'stopped', 'to the writer\'s model');

# ---------------------------------------------------------------- 6. jobs that never start, or hold others up
# a slow query in one job: cancel answers at once, and others' jobs start meanwhile
as('mallory', q{CREATE FUNCTION mallory.slow() RETURNS TABLE (a real, b real, y int) LANGUAGE sql AS $f$
	SELECT p.a, p.b, p.y FROM public.pts p, pg_sleep(30) $f$});
my $slowjob = as('mallory', q{SELECT hanami.train_async('mine', 'SELECT * FROM mallory.slow()', '{"epochs": 1}')});
ok($node->poll_query_until('postgres', "SELECT state = 'running' FROM hanami.job_queue WHERE id = $slowjob"),
	'a job with a slow query is running');
as('bob', q{SELECT hanami.create_model('quick', '{"layers": [2, 4, 2]}', 'team', 1)});
my $t0 = time;
my $quick = as('bob', q{SELECT hanami.train_async('team/quick', 'SELECT a, b, y FROM pts', '{"epochs": 1}')});
is(wait_job($quick), 'succeeded', "another tenant's job runs while the slow query holds its worker");
cmp_ok(time - $t0, '<', 20, 'without waiting for the slow query');
$t0 = time;
is(as('mallory', "SET statement_timeout = '2s'; SELECT hanami.cancel($slowjob)"), 't', 'cancel of a job in its query answers');
cmp_ok(time - $t0, '<', 2, 'at once (no lock held while the query runs)');
$node->safe_psql('postgres', "SELECT pg_cancel_backend(worker_pid) FROM hanami.job_queue WHERE id = $slowjob");
wait_job($slowjob);

# a job whose submitter cannot log in any more is retried a bounded number
# of times, then fails, and the queue moves on
my $hold1 = as('alice', q{SELECT hanami.train_async('team/slow', 'SELECT a, b, y FROM pts', '{"epochs": 1000, "batch_size": 1}')});
my $hold2 = as('bob', q{SELECT hanami.train_async('team/quick', 'SELECT a, b, y FROM pts', '{"epochs": 100000, "batch_size": 1}')});
ok($node->poll_query_until('postgres', "SELECT count(*) = 2 FROM hanami.job_queue WHERE id IN ($hold1, $hold2) AND state = 'running'"),
	'two jobs take both worker slots');
my $stuck = as('mallory', q{SELECT hanami.train_async('mine', 'SELECT a, b, y FROM pts', '{"epochs": 1}')});
is($node->safe_psql('postgres', "SELECT state FROM hanami.job_queue WHERE id = $stuck"), 'queued', "mallory's job waits for a slot");
$node->safe_psql('postgres', 'ALTER ROLE mallory NOLOGIN');
$node->safe_psql('postgres', "SELECT hanami.cancel($hold1)");
for my $i (1 .. 4)
{
	my $j = as('alice', q{SELECT hanami.train_async('team/quick', 'SELECT a, b, y FROM pts', '{"epochs": 1}')});
	wait_job($j);
}
ok($node->poll_query_until('postgres', "SELECT state = 'failed' FROM hanami.job_queue WHERE id = $stuck"),
	'a job whose worker can never start fails after a bounded number of attempts');
like($node->safe_psql('postgres', "SELECT error || ' ' || attempts FROM hanami.job_queue WHERE id = $stuck"),
	qr/could not be started \(3 attempts\) 3/, 'its error and attempt count say why');
$node->safe_psql('postgres', "SELECT hanami.cancel($hold2)");
# a failure is recorded even when the job's identity has lost every right
$node->safe_psql('postgres', 'ALTER ROLE mallory LOGIN');
my $revoked = as('bob', q{SELECT hanami.train_async('team/quick', 'SELECT a, b, y FROM pts', '{"epochs": 100000, "batch_size": 1}')});
ok($node->poll_query_until('postgres', "SELECT state = 'running' FROM hanami.job_queue WHERE id = $revoked"), "bob's job runs");
$node->safe_psql('postgres', q{REVOKE team FROM bob});
is(wait_job($revoked), 'failed', 'a job whose submitter lost access fails');
like($node->safe_psql('postgres', "SELECT error FROM hanami.job_queue WHERE id = $revoked"),
	qr/no longer visible|permission denied|row-level security/, 'and its failure is recorded although bob may not write it');

$node->stop;
done_testing();
