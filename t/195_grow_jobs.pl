# t/195_grow_jobs.pl - background jobs of the growing kind: a job grows the
# network (its image moves while it trains) and commits the same bytes as
# the same training in the foreground; progress, the learning curve and the
# growth history; hanami.stop keeps what it grew, cancel throws it away; a
# spiking network trains as a job; options that do not apply to the kind
# are refused when the job is submitted.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use HanamiFixture;

my $node = HanamiFixture::node('growjobs', 'hanami.max_workers = 2', 'max_worker_processes = 16');
HanamiFixture::roles($node);
$node->safe_psql('postgres', q{
	CREATE EXTENSION hanami;
	-- raw, unscaled sensor values over six orders of magnitude, three classes
	CREATE TABLE sensors AS
	SELECT ARRAY[(g % 7) * 1000.0, (g % 5) * 0.001, (g % 11) * 1e5, (g % 3) * 7.0,
	             ((g * 7) % 13)::real, (g % 2) * 250.0]::real[] AS x,
	       CASE WHEN g % 7 < 2 THEN 0 WHEN g % 7 < 5 THEN 1 ELSE 2 END AS y
	FROM generate_series(1, 1500) g;
	CREATE TABLE pts AS SELECT (g % 2)::real AS a, ((g / 2) % 2)::real AS b, ((g % 2) # ((g / 2) % 2)) AS y
		FROM generate_series(1, 400) g;
	GRANT SELECT ON sensors, pts TO PUBLIC;
	SELECT hanami.create_project('team');
	SELECT hanami.add_member('team', 'alice', 'admin');
});

sub psql_as { return HanamiFixture::psql_as($node, 'postgres', @_); }

my $template = q{'{"kind": "hanami", "layers": [6, 64, 3], "settings": {"max_sections": 4096}}'};
psql_as('alice', "SELECT hanami.create_model('grow', $template, 'team', 3)");
psql_as('alice', "SELECT hanami.create_model('fore', $template, 'team', 3)");
my $head = psql_as('alice', q{SELECT max(commit_id) FROM hanami.log('team/grow')});
my $opts = q{'{"epochs": 4, "learning_rate": 0.05}'};

# 1. a job grows the network and commits it
my $job = psql_as('alice', "SELECT hanami.train_async('team/grow', 'SELECT x, y FROM sensors', $opts, 'grown')");
is(psql_as('alice', "SELECT hanami.wait($job, '120 s')"), 'succeeded', 'the growing network\'s job succeeds');
is(psql_as('alice', "SELECT epoch || '/' || epochs || ' ' || progress FROM hanami.jobs WHERE id = $job"),
	'4/4 100.0', 'its progress counts every epoch');
is(psql_as('alice', "SELECT count(*) FILTER (WHERE loss > 0 AND loss < 'Infinity') || ' ' || count(DISTINCT epoch) "
	. "FROM hanami.training_log WHERE job_id = $job"), '4 4', 'its learning curve has a finite loss for every epoch');
my ($commit, $parent, $msg, $stop, $epochs) = split /\|/, psql_as('alice',
	"SELECT l.commit_id, l.parent, l.message, l.metrics->>'stop', l.metrics->>'epochs' "
	. "FROM hanami.jobs j JOIN hanami.log('team/grow') l ON l.commit_id = j.commit_id WHERE j.id = $job");
is("$parent|$msg|$stop|$epochs", "$head|grown|epochs|4", 'the commit is on the head it started from, with its metrics');
is(psql_as('alice', "SELECT count(*) FROM hanami.training_log WHERE commit_id = $commit"), '4',
	'the learning curve is linked to the commit');
my ($hist, $synapses, $blocks) = split /\|/, psql_as('alice', q{SELECT jsonb_array_length(i->'growth'),
	(i->'growth'->-1->>'synapses'), (i->'growth'->-1->>'blocks') FROM hanami.info(hanami.load('team/grow')) i});
is($hist, '4', 'the growth history has an entry for every epoch');
cmp_ok($blocks, '>', 20, "it grew ($blocks sections, $synapses synapses): its image moved while the job ran");

# 2. the same bytes as the same training in the foreground
psql_as('alice', "SELECT hanami.train('team/fore', 'SELECT x, y FROM sensors', $opts)");
is(psql_as('alice', q{SELECT hanami.network_send(hanami.load('team/grow')) = hanami.network_send(hanami.load('team/fore'))}),
	't', 'the job\'s network equals train()\'s byte for byte');
cmp_ok(psql_as('alice', q{SELECT (hanami.evaluate('team/grow', 'SELECT x, y FROM sensors')->>'accuracy')::float8}),
	'>=', 0.6, 'and it learned from raw values (the majority class alone is 0.43)');

# 3. stop keeps what a long job grew
my $long = psql_as('alice', q{SELECT hanami.train_async('team/grow', 'SELECT x, y FROM sensors',
	'{"epochs": 1000000}', 'stopped early')});
ok($node->poll_query_until('postgres', "SELECT epoch >= 2 FROM hanami.jobs WHERE id = $long"),
	'a long growing job reaches its second epoch');
is(psql_as('alice', "SELECT hanami.stop($long)"), 't', 'stop of the running job returns true');
is(psql_as('alice', "SELECT hanami.wait($long, '60 s')"), 'succeeded', 'the stopped job ends succeeded');
my ($scommit, $sstop, $sepochs) = split /\|/, psql_as('alice',
	"SELECT l.commit_id, l.metrics->>'stop', l.metrics->>'epochs' "
	. "FROM hanami.jobs j JOIN hanami.log('team/grow') l ON l.commit_id = j.commit_id WHERE j.id = $long");
is($sstop, 'stopped', 'its commit says it was stopped');
cmp_ok($sepochs, '>=', 2, "after the epochs it trained ($sepochs)");
is(psql_as('alice', q{SELECT max(commit_id) FROM hanami.log('team/grow')}), $scommit, 'its commit is the branch head');
cmp_ok(psql_as('alice', q{SELECT (hanami.info(hanami.load('team/grow'))->'growth'->-1->>'epoch')::int}),
	'>=', 4 + $sepochs, 'the stored network counts the epochs of both jobs');

# 4. cancel throws the growth away
$long = psql_as('alice', q{SELECT hanami.train_async('team/grow', 'SELECT x, y FROM sensors', '{"epochs": 1000000}')});
ok($node->poll_query_until('postgres', "SELECT epoch >= 2 FROM hanami.jobs WHERE id = $long"),
	'another long growing job runs');
is(psql_as('alice', "SELECT hanami.cancel($long)"), 't', 'cancel returns true');
is(psql_as('alice', "SELECT hanami.wait($long, '60 s')"), 'cancelled', 'the job ends cancelled');
is(psql_as('alice', "SELECT commit_id IS NULL FROM hanami.jobs WHERE id = $long"), 't', 'with no commit');
is(psql_as('alice', q{SELECT max(commit_id) FROM hanami.log('team/grow')}), $scommit, 'the branch is unchanged');

# 5. a spiking network trains as a job, its rows in order, and comes back with a cleared state
psql_as('alice', q{SELECT hanami.create_model('spike', '{"kind": "hanami", "layers": [2, 8, 2],
	"settings": {"neuron_cooldown": 2}}', 'team', 5)});
psql_as('alice', q{SELECT hanami.create_model('spike_fore', '{"kind": "hanami", "layers": [2, 8, 2],
	"settings": {"neuron_cooldown": 2}}', 'team', 5)});
$job = psql_as('alice', q{SELECT hanami.train_async('team/spike', 'SELECT a, b, y FROM pts', '{"epochs": 2}')});
is(psql_as('alice', "SELECT hanami.wait($job, '60 s')"), 'succeeded', 'a spiking network\'s job succeeds');
psql_as('alice', q{SELECT hanami.train('team/spike_fore', 'SELECT a, b, y FROM pts', '{"epochs": 2}')});
is(psql_as('alice', q{SELECT hanami.network_send(hanami.load('team/spike')) = hanami.network_send(hanami.load('team/spike_fore'))}),
	't', 'and equals train()\'s network byte for byte');

# 6. what does not apply to the kind is refused at submission, and nothing is queued
my ($ret, $out, $err) = $node->psql('postgres',
	q{SELECT hanami.train_async('team/grow', 'SELECT a, b, y FROM pts', '{"epochs": 1, "momentum": 0.9}')},
	extra_params => [ '-U', 'alice' ]);
like($err, qr/option "momentum" does not apply to networks of kind "hanami"/, 'a dense option is refused at submission');
($ret, $out, $err) = $node->psql('postgres',
	q{SELECT hanami.train_async('team/grow', 'SELECT x, y FROM sensors', '{"epochs": 1, "learning_rate": -1}')},
	extra_params => [ '-U', 'alice' ]);
like($err, qr/invalid training options|learning_rate/, 'a bad learning rate is refused at submission');
is(psql_as('alice', q{SELECT count(*) FROM hanami.jobs WHERE state IN ('queued', 'running')}), '0',
	'no job was queued for them');

$node->stop;
done_testing();
