# t/205_dtype_fashion.pl - compact weights on Fashion-MNIST: a 784-128-10
# dense network trained in float32 on 20,000 training images (a subset, to
# keep the suite short) and tested on the 10,000 test images, then
# quantized to pow2, f16 and u8, and a network trained for pow2 weights
# (quantization-aware, "dtype": "pow2") and quantized.  Floors: every
# compact network within 1.5 points of the float32 one (pow2: the better
# of quantize and pow2 training; both are reported); stored values at
# least 3.5 times smaller for pow2 and u8, about 2 times for f16.
#
# Needs Debian's dataset-fashion-mnist (t/setup-deps.sh installs it); fails
# with that hint when its files are missing.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use File::Basename qw(dirname);
use lib dirname(__FILE__);
use HanamiFixture;

my $node = PostgreSQL::Test::Cluster->new('dtype_fashion');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'hanami'");
$node->append_conf('postgresql.conf', "synchronize_seqscans = off");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION hanami');

my $tmp = $node->basedir;
HanamiFixture::fashion_csv($tmp, 20000) or do { done_testing(); exit; };
for my $t (qw(train test))
{
	$node->safe_psql('postgres',
		"CREATE TABLE fm_$t (id int, x real[], label int);
		 COPY fm_$t FROM '$tmp/$t.csv' WITH (FORMAT csv)");
}

my $opts = '{"epochs": 4, "batch_size": 32, "optimizer": "adam", "learning_rate": 0.001}';
$node->safe_psql(
	'postgres', qq{
	CREATE TABLE nets AS
	SELECT 'f32' AS name, hanami.fit(hanami.network('{"layers": [784, 128, 10]}', 1),
	                                 'SELECT x, label FROM fm_train', '$opts') AS net;
	INSERT INTO nets
	SELECT 'qat', hanami.fit(hanami.network('{"layers": [784, 128, 10], "dtype": "pow2"}', 1),
	                         'SELECT x, label FROM fm_train', '$opts');
	INSERT INTO nets SELECT d, hanami.quantize(net, d)
	FROM nets, unnest(ARRAY['pow2', 'f16', 'u8']) d WHERE name = 'f32';
	INSERT INTO nets SELECT 'qat_pow2', hanami.quantize(net, 'pow2') FROM nets WHERE name = 'qat';
});
my %acc;
my %bytes;
for my $row (
	split /\n/,
	$node->safe_psql(
		'postgres', q{
		SELECT name, hanami.verify(net, 'SELECT x, label FROM fm_test') ->> 'accuracy',
		       hanami.info(net) ->> 'bytes', hanami.info(net) ->> 'dtype'
		FROM nets ORDER BY name}))
{
	my ($name, $a, $b, $dtype) = split /\|/, $row;
	$acc{$name} = $a;
	$bytes{$name} = $b;
}
for my $name (qw(f32 f16 u8 pow2 qat qat_pow2))
{
	diag(sprintf("%-9s test accuracy %.2f %%, %7d bytes (%.2fx smaller than f32)",
			$name, 100 * $acc{$name}, $bytes{$name}, $bytes{f32} / $bytes{$name}));
}
cmp_ok($acc{f32}, '>=', 0.82, 'float32 784-128-10: test accuracy >= 82 %');
for my $d (qw(f16 u8))
{
	cmp_ok($acc{$d}, '>=', $acc{f32} - 0.015,
		"$d: within 1.5 points of float32");
}
my $pow2 = $acc{pow2} > $acc{qat_pow2} ? $acc{pow2} : $acc{qat_pow2};
cmp_ok($pow2, '>=', $acc{f32} - 0.015,
	'pow2 (the better of quantize and pow2 training): within 1.5 points of float32');
cmp_ok($acc{qat_pow2}, '>=', $acc{qat} - 0.001,
	'pow2 training: quantizing keeps its accuracy (its forward pass was pow2 already)');
for my $d (qw(pow2 u8 qat_pow2))
{
	cmp_ok($bytes{f32} / $bytes{$d}, '>=', 3.5, "$d: stored value at least 3.5x smaller");
}
cmp_ok($bytes{f32} / $bytes{f16}, '>=', 1.95, 'f16: stored value about 2x smaller');
is( $node->safe_psql(
		'postgres', q{
		SELECT hanami.info(net) ->> 'pow2_shadow' FROM nets WHERE name = 'qat'}),
	'true',
	'a network trained for pow2 keeps float shadow weights until quantized');

$node->stop;
done_testing();
