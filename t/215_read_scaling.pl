# t/215_read_scaling.pl - predict spread over a primary and two hot
# standbys by pgpool-II in load-balancing mode with statement-level load
# balancing: each node answers some of the statements (counted per node by
# pg_stat_user_functions), the service survives the loss of a standby, and a
# new commit on the primary is used by the standbys after replay.  Prints
# the measured statements per second through pgpool and straight to one
# node.
use strict;
use warnings;

use File::Temp qw(tempdir);
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

my $pgpool = -x '/usr/sbin/pgpool' ? '/usr/sbin/pgpool' : `command -v pgpool`;
chomp $pgpool;
BAIL_OUT('pgpool-II is not installed (apt package pgpool2: run t/setup-deps.sh)') unless $pgpool && -x $pgpool;

my $conf = "shared_preload_libraries = 'hanami'\ntrack_functions = 'all'\n";
my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', $conf);
$primary->start;
$primary->safe_psql('postgres', q{
	CREATE EXTENSION hanami;
	CREATE TABLE pts AS SELECT a::real AS a, b::real AS b, (a # b) AS y
		FROM generate_series(0, 1) a, generate_series(0, 1) b, generate_series(1, 25);
	SELECT hanami.create_model('xor', '{"layers": [2, 8, 2], "activation": "tanh"}', seed => 1);
	SELECT hanami.train('xor', 'SELECT a, b, y FROM pts', '{"epochs": 200, "learning_rate": 0.05, "batch_size": 4}');
});
$primary->backup('bk');
my @standbys;
for my $i (1, 2)
{
	my $s = PostgreSQL::Test::Cluster->new("standby$i");
	$s->init_from_backup($primary, 'bk', has_streaming => 1);
	$s->start;
	push @standbys, $s;
}
$primary->wait_for_catchup($_) for @standbys;
my @nodes = ($primary, @standbys);
my $user = $primary->safe_psql('postgres', 'SELECT current_user');

# pgpool-II: streaming replication, every node weighted alike, each SELECT
# balanced on its own, a node whose connection fails taken out
my $dir = tempdir(CLEANUP => 1);
my $port = PostgreSQL::Test::Cluster::get_free_port();
my $pcp_port = PostgreSQL::Test::Cluster::get_free_port();
my $backends = '';
for my $i (0 .. $#nodes)
{
	$backends .= sprintf("backend_hostname%d = '%s'\nbackend_port%d = %d\nbackend_weight%d = 1\n"
		  . "backend_flag%d = 'ALLOW_TO_FAILOVER'\nbackend_data_directory%d = '%s'\n",
		$i, $nodes[$i]->host, $i, $nodes[$i]->port, $i, $i, $i, $nodes[$i]->data_dir);
}
open(my $fh, '>', "$dir/pgpool.conf") or die;
print $fh <<"EOF";
backend_clustering_mode = 'streaming_replication'
listen_addresses = ''
port = $port
socket_dir = '$dir'
pcp_listen_addresses = ''
pcp_port = $pcp_port
pcp_socket_dir = '$dir'
pid_file_name = '$dir/pgpool.pid'
logdir = '$dir'
num_init_children = 4
max_pool = 2
load_balance_mode = on
statement_level_load_balance = on
sr_check_period = 1
sr_check_user = '$user'
health_check_period = 1
health_check_user = '$user'
health_check_max_retries = 0
failover_on_backend_error = on
enable_pool_hba = off
$backends
EOF
close $fh;
open($fh, '>', "$dir/pcp.conf") or die;
close $fh;
open($fh, '>', "$dir/pool_hba.conf") or die;
close $fh;
my ($pout, $perr) = ('', '');
my $pp = IPC::Run::start([ $pgpool, '-n', '-f', "$dir/pgpool.conf", '-F', "$dir/pcp.conf", '-a', "$dir/pool_hba.conf" ],
	'<', \undef, '>', \$pout, '2>', \$perr);
# pgpool-II goes with the test, however it ends
END { $pp->kill_kill(grace => 2) if $pp && $pp->pumpable; }

# psql through pgpool
sub via_pool
{
	my ($sql) = @_;
	my ($o, $e) = ('', '');
	IPC::Run::run([ 'psql', '-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1', '-h', $dir, '-p', $port, '-d', 'postgres', '-U', $user ],
		'<', \$sql, '>', \$o, '2>', \$e);
	chomp $o;
	return wantarray ? ($o, $e) : $o;
}
my $up = 0;
for (1 .. 100)
{
	my ($o) = via_pool('SELECT 1');
	if ($o eq '1') { $up = 1; last; }
	sleep 0.2;
}
ok($up, 'pgpool-II accepts connections') or BAIL_OUT("pgpool did not start: $perr");
# wait until pgpool sees every node up (and the primary as such)
my $nodes_up = '';
for (1 .. 100)
{
	$nodes_up = via_pool('SHOW pool_nodes');
	last if ($nodes_up =~ tr/\n//) == 2 && $nodes_up !~ /\|down\|/ && $nodes_up =~ /primary/;
	sleep 0.2;
}
like($nodes_up, qr/primary/, 'pgpool-II knows the primary');

my $calls = q{SELECT COALESCE((SELECT calls FROM pg_stat_user_functions WHERE schemaname = 'hanami' AND funcname = 'predict'), 0)};
sub counts { return map { $_->safe_psql('postgres', "SELECT pg_stat_clear_snapshot(); $calls") } @_; }
# a backend reports its function calls when it goes idle, within about 10 s
# (pgpool-II keeps its backend sessions open): wait until the counts add up
sub counts_reaching
{
	my ($want, $before, @of) = @_;
	my @c;
	for (1 .. 150)
	{
		@c = counts(@of);
		my $total = 0;
		$total += $c[$_] - $before->[$_] for 0 .. $#c;
		last if $total >= $want;
		sleep 0.1;
	}
	return map { $c[$_] - $before->[$_] } 0 .. $#c;
}
my @before = counts(@nodes);
my $n = 300;
my $predicts = join("\n", map { sprintf("SELECT hanami.predict('xor', ARRAY[%d, %d]::real[]);", $_ % 2, ($_ >> 1) % 2) } 1 .. $n);
my $t0 = time;
my ($o, $e) = via_pool($predicts);
my $pooled = time - $t0;
is($e, '', "$n predict statements through pgpool-II, one session");
my @per = counts_reaching($n, \@before, @nodes);
note(sprintf('statements per node (primary, standby1, standby2): %s', join(', ', @per)));
ok((grep { $_ > 0 } @per) == 3, 'every node answered some of them: ' . join(', ', @per));
my $sum = 0;
$sum += $_ for @per;
is($sum, $n, 'each statement ran on exactly one node');

# throughput: the same statements straight to one node
$t0 = time;
$primary->safe_psql('postgres', $predicts);
my $direct = time - $t0;
note(sprintf('%d statements: %.0f/s through pgpool-II over 3 nodes, %.0f/s straight to one node (one session each)',
	$n, $n / $pooled, $n / $direct));
# and with 4 sessions at once
sub concurrent
{
	my ($host, $p) = @_;
	my @h;
	my @out = map { '' } 1 .. 4;
	my @errs = map { '' } 1 .. 4;
	my @in = ($predicts) x 4;    # IPC::Run consumes the input it is given
	my $t = time;
	for my $k (0 .. 3)
	{
		push @h, IPC::Run::start([ 'psql', '-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1', '-h', $host, '-p', $p, '-d', 'postgres', '-U', $user ],
			'<', \$in[$k], '>', \$out[$k], '2>', \$errs[$k]);
	}
	$_->finish for @h;
	my $dt = time - $t;
	my $answers = 0;
	$answers += ($_ =~ tr/\n//) for @out;
	die "concurrent predicts failed: @errs" if join('', @errs) ne '' || $answers != 4 * $n;
	return 4 * $n / $dt;
}
note(sprintf('4 sessions at once: %.0f statements/s through pgpool-II over 3 nodes, %.0f/s straight to one node',
	concurrent($dir, $port), concurrent($primary->host, $primary->port)));

# a new commit on the primary is used by the standbys after replay
$primary->safe_psql('postgres', q{SELECT hanami.save('xor', hanami.network('{"layers": [2, 8, 2]}', 7), 'replaced')});
$primary->wait_for_catchup($_) for @standbys;
my $want = $primary->safe_psql('postgres', q{SELECT hanami.run(hanami.network('{"layers": [2, 8, 2]}', 7), '{1,0}')});
is(join(',', map { $_->safe_psql('postgres', q{SELECT hanami.predict('xor', '{1,0}')}) } @nodes),
	join(',', ($want) x 3), 'after replay every node predicts with the new commit');
my @through = map { scalar via_pool(q{SELECT hanami.predict('xor', '{1,0}')}) } 1 .. 6;
is(join(',', @through), join(',', ($want) x 6), 'and so does every statement through pgpool-II');

# the loss of a standby: pgpool-II takes it out, predicts go on
$standbys[1]->stop('immediate');
my $ok = 0;
my $tries = 0;
for (1 .. 50)
{
	$tries++;
	my ($r, $err2) = via_pool(join("\n", ("SELECT hanami.predict('xor', '{1,0}');") x 20));
	if ($err2 eq '' && $r eq join("\n", ($want) x 20)) { $ok = 1; last; }
	sleep 0.2;
}
ok($ok, "with a standby down, predict statements through pgpool-II succeed (after $tries tries)");
like(via_pool('SHOW pool_nodes'), qr/\|\s*down\s*\|/, 'pgpool-II shows the lost standby down');
@before = counts($primary, $standbys[0]);
($o, $e) = via_pool($predicts);
is($e . ($o =~ tr/\n//), $n - 1, "$n more statements, all answered");
@per = counts_reaching($n, \@before, $primary, $standbys[0]);
is($per[0] + $per[1], $n, 'by the two nodes left: ' . join(', ', @per));

$pp->signal('TERM');
$pp->finish;
undef $pp;
$standbys[0]->stop;
$primary->stop;
done_testing();
