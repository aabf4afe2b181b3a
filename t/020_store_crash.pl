# t/020_store_crash.pl - a server killed (immediate stop) in the middle of a
# long train: after recovery every earlier commit is intact, no partial
# commit is visible, and the model trains again.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('crash');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'hanami'");
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION hanami;
	CREATE TABLE pts AS SELECT (g % 7)::real AS a, (g % 5)::real AS b, (g % 7 + g % 5) % 2 AS y
		FROM generate_series(1, 2000) g;
	SELECT hanami.create_model('m', '{"layers": [2, 64, 2]}', seed => 1);
	SELECT hanami.train('m', 'SELECT a, b, y FROM pts', '{"epochs": 2}');
	SELECT hanami.branch('m', 'side');
	SELECT hanami.train('m@side', 'SELECT a, b, y FROM pts', '{"epochs": 1}');
});
my $state_sql = q{
	SELECT string_agg(c.id || ':' || md5(hanami.load_commit(c.id)::bytea), ',' ORDER BY c.id)
	FROM hanami.commits c};
my $heads_sql = q{SELECT string_agg(name || '=' || head, ',' ORDER BY name) FROM hanami.branches};
my $before = $node->safe_psql('postgres', $state_sql);
my $heads = $node->safe_psql('postgres', $heads_sql);
my $blocks = $node->safe_psql('postgres', 'SELECT count(*) FROM hanami.blocks');

# a train that runs for minutes, in the background
my ($out, $err) = ('', '');
my $h = IPC::Run::start(
	[ 'psql', '-XAtq', '-d', $node->connstr('postgres'), '-c',
	  q{SELECT hanami.train('m', 'SELECT a, b, y FROM pts', '{"epochs": 1000000}')} ],
	'>', \$out, '2>', \$err);
my $running = 0;
for (1 .. 100)
{
	$running = $node->safe_psql('postgres',
		q{SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%epochs": 1000000%' AND state = 'active' AND pid <> pg_backend_pid()});
	last if $running;
	usleep(100_000);
}
is($running, '1', 'long train is running');
usleep(300_000);

$node->stop('immediate');
$h->finish;
$node->start;

is($node->safe_psql('postgres', $state_sql), $before, 'every earlier commit is intact after the crash');
is($node->safe_psql('postgres', $heads_sql), $heads, 'no branch moved: no partial commit');
is($node->safe_psql('postgres', 'SELECT count(*) FROM hanami.blocks'), $blocks, 'no stray blocks');
is($node->safe_psql('postgres',
	'SELECT count(*) FROM hanami.commit_blocks cb WHERE NOT EXISTS (SELECT 1 FROM hanami.commits c WHERE c.id = cb.commit_id)'),
	'0', 'no orphaned commit blocks');
ok($node->safe_psql('postgres', q{SELECT hanami.train('m', 'SELECT a, b, y FROM pts', '{"epochs": 1}')}) > 0,
	'the model trains again after recovery');
is($node->safe_psql('postgres', q{SELECT hanami.predict_class('m', '{1,2}') BETWEEN 0 AND 1}), 't',
	'predict works after recovery');

$node->stop;
done_testing();
