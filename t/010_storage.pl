# t/010_storage.pl - network values in tables: binary COPY round trip and
# mutated binary COPY input (the receive path), pg_dump/pg_restore, clean
# restart and crash recovery.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Cwd ();

my $node = PostgreSQL::Test::Cluster->new('storage');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'hanami'");
$node->start;

$node->safe_psql('postgres', q{
	CREATE EXTENSION hanami;
	CREATE TABLE nets (id int, net hanami.network);
	CREATE TABLE pts AS SELECT g % 7 AS a, g % 5 AS b, (g % 7 + g % 5) % 2 AS y
		FROM generate_series(1, 200) g;
	INSERT INTO nets VALUES
		(1, hanami.network('{"layers": [2, 8, 2]}', 1)),
		(2, hanami.fit(hanami.network('{"layers": [2, 8, 2]}', 2), 'SELECT a, b, y FROM pts', '{"epochs": 5}')),
		(3, hanami.network('{"layers": [400, 300, 10]}', 3));
});
my $sum_sql = q{SELECT string_agg(id || ':' || md5(net::bytea), ',') FROM (SELECT * FROM nets ORDER BY id) s};
my $before = $node->safe_psql('postgres', $sum_sql);

# binary COPY out and back in
my $dir = Cwd::abs_path($node->basedir);
$node->safe_psql('postgres', "COPY nets TO '$dir/nets.bin' (FORMAT binary)");
$node->safe_psql('postgres', "CREATE TABLE nets2 (LIKE nets); COPY nets2 FROM '$dir/nets.bin' (FORMAT binary)");
is($node->safe_psql('postgres', $sum_sql =~ s/FROM nets/FROM nets2/r),
	$before, 'binary COPY round trip is exact');

# text COPY round trip
$node->safe_psql('postgres', "COPY nets TO '$dir/nets.txt'; CREATE TABLE nets3 (LIKE nets); COPY nets3 FROM '$dir/nets.txt'");
is($node->safe_psql('postgres', $sum_sql =~ s/FROM nets/FROM nets3/r),
	$before, 'text COPY round trip is exact');

# Mutated binary COPY input goes through network_recv: every file is either
# rejected with a clean error or loaded as a valid value; the server lives.
open(my $fh, '<:raw', "$dir/nets.bin") or die;
my $file = do { local $/; <$fh> };
close $fh;
# header: 11-byte signature, flags, extension length; first tuple: field
# count (2), then id (length 4), then the network (length, bytes)
my $pos = 11 + 4 + 4 + 2 + 4 + 4;
my $len = unpack('N', substr($file, $pos, 4));
my $image = substr($file, $pos + 4, $len);
srand(7);
my ($rejected, $accepted, $bad) = (0, 0, 0);
$node->safe_psql('postgres', 'CREATE TABLE fuzz (LIKE nets)');
for my $i (1 .. 60)
{
	my $m = $image;
	my $at = int(rand(length($m)));
	if ($i % 3 == 0) { $m = substr($m, 0, $at); }
	elsif ($i % 3 == 1) { substr($m, $at, 1) = chr(int(rand(256))); }
	else { substr($m, int($at / 4) * 4 % 200, 4) = pack('V', (0x7fffffff, 0x80000000, 0xffffffff)[$i % 3]); }
	my $copy = substr($file, 0, 19) . pack('n', 2) . pack('N', 4) . pack('N', $i)
	  . pack('N', length($m)) . $m . pack('n', 0xffff);
	open(my $out, '>:raw', "$dir/fuzz.bin") or die;
	print $out $copy;
	close $out;
	my ($ret, $stdout, $stderr) = $node->psql('postgres', "COPY fuzz FROM '$dir/fuzz.bin' (FORMAT binary)");
	if ($ret == 0) { $accepted++; }
	elsif ($stderr =~ /ERROR:.*(network|image|layer|format|header|size|bytes|finite|magic|version|reserved|flags|activation|loss|kind|name|offset|scaling)/i) { $rejected++; }
	else { $bad++; diag("unexpected: $stderr"); }
}
is($bad, 0, 'mutated binary input: every failure is a clean network error');
cmp_ok($rejected, '>=', 30, "mutated binary input: $rejected of 60 rejected");
is($node->safe_psql('postgres', 'SELECT count(*) FROM fuzz WHERE net::bytea::hanami.network::bytea <> net::bytea'),
	'0', 'accepted mutations are valid values');

# pg_dump / pg_restore into another database
my $dump = "$dir/dump.custom";
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('postgres'), '-f', $dump ], 'pg_dump');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
$node->command_ok([ 'pg_restore', '-d', $node->connstr('restored'), $dump ], 'pg_restore');
is($node->safe_psql('restored', $sum_sql), $before, 'pg_dump and pg_restore keep networks exact');

# clean restart, then a crash (immediate stop) right after more writes
$node->restart;
is($node->safe_psql('postgres', $sum_sql), $before, 'networks survive a restart');
$node->safe_psql('postgres', q{INSERT INTO nets VALUES (4, hanami.network('{"layers": [3, 3]}', 4))});
my $with4 = $node->safe_psql('postgres', $sum_sql);
$node->stop('immediate');
$node->start;
is($node->safe_psql('postgres', $sum_sql), $with4, 'committed networks survive a crash');
is($node->safe_psql('postgres', q{SELECT hanami.classify(net, '{1,2}') BETWEEN 0 AND 1 FROM nets WHERE id = 2}),
	't', 'inference works after recovery');

$node->stop;
done_testing();
