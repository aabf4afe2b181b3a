# t/070_opencl.pl - the OpenCL backend where the server's environment breaks
# OpenCL, and in a background job:
#   1. no platform (OCL_ICD_VENDORS names an empty directory): a server with
#      hanami preloaded starts, auto and cpu work, and OpenCL is an error only
#      when asked for (options.device or hanami.device), with SQLSTATE 42704;
#   2. PoCL without "ld" on the server's PATH: a clean error, no crash;
#   3. PoCL without a writable kernel cache: "no device" with a hint;
#   4. a background job trains on the device its options name;
#   5. PoCL in a session that has used PostgreSQL's JIT compiler (another
#      LLVM in the process): a clean error, no crash; jit = off works.
use strict;
use warnings;

use File::Temp qw(tempdir);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $setup = q{
	CREATE EXTENSION hanami;
	CREATE TABLE pts AS SELECT ARRAY[(g % 2)::real, (g % 3)::real] AS x, (g % 2) AS y
	FROM generate_series(1, 200) g;
};
my $small_fit = q{SELECT hanami.info(hanami.fit(hanami.network('{"layers": [2, 4, 2]}', 1), 'SELECT x, y FROM pts', '%s')) -> 'trained' ->> 'epochs'};

# a node started with extra environment (local changes end with the block)
sub start_node
{
	my ($name, %env) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf', "shared_preload_libraries = 'hanami'");
	local %ENV = (%ENV, %env);
	$node->start;
	return $node;
}

# 1. no OpenCL platform at all
my $empty = tempdir(CLEANUP => 1);
my $node = start_node('no_platform', OCL_ICD_VENDORS => $empty);
$node->safe_psql('postgres', $setup);
is($node->safe_psql('postgres', q{SELECT hanami.capabilities() -> 'opencl' ->> 'error'}),
	'no OpenCL platform found', 'capabilities() reports the missing platform');
is($node->safe_psql('postgres', q{SELECT jsonb_array_length(hanami.capabilities() -> 'devices')}),
	'1', 'only the CPU is listed');
is($node->safe_psql('postgres', sprintf($small_fit, '{"epochs": 1}')), '1', 'auto trains on the CPU');
# big enough for auto to look for a GPU, which it does not find
is($node->safe_psql('postgres', q{SELECT hanami.info(hanami.fit(hanami.network('{"layers": [2, 2048, 2048, 2]}', 1), 'SELECT x, y FROM pts', '{"epochs": 1, "batch_size": 200}')) -> 'trained' ->> 'epochs'}),
	'1', 'auto with a large network falls back to the CPU');
is($node->safe_psql('postgres', sprintf($small_fit, '{"epochs": 1, "device": "cpu"}')), '1', 'cpu trains');
my ($ret, $out, $err) = $node->psql('postgres',
	sprintf($small_fit, '{"epochs": 1, "device": "opencl"}'),
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
isnt($ret, 0, 'device opencl fails');
like($err, qr/ERROR:  42704: no OpenCL platform found/, 'with SQLSTATE 42704 and the reason');
like($err, qr/OCL_ICD_VENDORS/, 'the detail names OCL_ICD_VENDORS');
($ret, $out, $err) = $node->psql('postgres',
	q{SET hanami.device = opencl; SELECT count(c) FROM (SELECT hanami.classify_batch(hanami.network('{"layers": [2, 4, 2]}', 1), x) OVER () AS c FROM pts) q});
like($err, qr/no OpenCL platform found/, 'hanami.device = opencl fails batched inference too');
is($node->safe_psql('postgres',
	q{SELECT count(c) FROM (SELECT hanami.classify_batch(hanami.network('{"layers": [2, 4, 2]}', 1), x) OVER () AS c FROM pts) q}),
	'200', 'batched inference runs on the CPU under auto');
$node->stop;
ok(!(slurp_file($node->logfile) =~ /terminated by signal|PANIC/), 'no crash');

# 2. PoCL with no "ld" on PATH (a server started with an empty environment)
my $bindir = $node->config_data('--bindir');
$node = start_node('no_ld', PATH => $bindir);
$node->safe_psql('postgres', $setup);
($ret, $out, $err) = $node->psql('postgres', sprintf($small_fit, '{"epochs": 1, "device": "opencl"}'));
like($err, qr/ERROR:  PoCL cannot build kernels: no "ld" on PATH/, 'PoCL without ld: a clean error');
like($err, qr/set PATH \(and POCL_CACHE_DIR\)/, 'the detail says what to set');
is($node->safe_psql('postgres', sprintf($small_fit, '{"epochs": 1}')), '1', 'the backend goes on working');
$node->stop;
ok(!(slurp_file($node->logfile) =~ /terminated by signal|PANIC/), 'no crash');

# 3. PoCL with a kernel cache it cannot create
$node = start_node('no_cache', POCL_CACHE_DIR => '/proc/hanami-no-such-dir', HOME => '/proc', XDG_CACHE_HOME => '/proc');
$node->safe_psql('postgres', $setup);
($ret, $out, $err) = $node->psql('postgres', sprintf($small_fit, '{"epochs": 1, "device": "opencl"}'));
like($err, qr/ERROR:  no OpenCL device found/, 'PoCL without a cache: no device');
like($err, qr/POCL_CACHE_DIR/, 'the detail names POCL_CACHE_DIR');
$node->stop;

# 4. a background job uses the device of its options
$node = start_node('job_device');
$node->safe_psql('postgres', $setup . q{
	SELECT hanami.create_model('m', '{"layers": [2, 4, 2]}', seed => 1);
});
my $job = $node->safe_psql('postgres',
	q{SELECT hanami.train_async('m', 'SELECT x, y FROM pts', '{"epochs": 2, "device": "opencl"}')});
is($node->safe_psql('postgres', "SELECT hanami.wait($job, '120 s')"), 'succeeded', 'a job on the OpenCL device succeeds');
$job = $node->safe_psql('postgres',
	q{SELECT hanami.train_async('m', 'SELECT x, y FROM pts', '{"epochs": 2, "device": "opencl:no such device"}')});
is($node->safe_psql('postgres', "SELECT hanami.wait($job, '120 s')"), 'failed', 'a job naming a missing device fails');
like($node->safe_psql('postgres', "SELECT error FROM hanami.job_queue WHERE id = $job"),
	qr/no OpenCL device matches "no such device"/, 'with the device error');
$node->stop;

# 5. PoCL after the JIT compiler has loaded its LLVM, with a cold kernel
# cache so PoCL's compiler would run
my $cold = tempdir(CLEANUP => 1);
$node = start_node('jit', POCL_CACHE_DIR => $cold);
$node->append_conf('postgresql.conf', "jit = on\njit_above_cost = 0\njit_inline_above_cost = 0\njit_optimize_above_cost = 0");
$node->reload;
$node->safe_psql('postgres', $setup);
my $batch = q{SELECT count(c) FROM (SELECT hanami.classify_batch(hanami.network('{"layers": [2, 4, 2]}', 1), x, '{"device": "opencl"}') OVER () AS c FROM pts) q};
($ret, $out, $err) = $node->psql('postgres',
	q{SELECT sum(g) FROM generate_series(1, 1000) g; } . $batch,
	extra_params => [ '-v', 'VERBOSITY=verbose' ]);
SKIP:
{
	skip 'the server has no JIT provider to load', 3
	  if $node->safe_psql('postgres', q{SELECT pg_jit_available()}) ne 't';
	like($err, qr/ERROR:  0A000: PoCL cannot build its kernels in a session that has used the JIT compiler/,
		'PoCL after the JIT: a clean error with SQLSTATE 0A000');
	like($err, qr/HINT:  Run SET jit = off/, 'the hint says what to do');
	is($node->safe_psql('postgres', qq{SET jit = off; $batch}), '200',
		'a session with jit off runs on PoCL');
}
$node->stop;
ok(!(slurp_file($node->logfile) =~ /terminated by signal|PANIC/), 'no crash');

done_testing();
