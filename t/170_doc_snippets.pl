# t/170_doc_snippets.pl - every SQL snippet of README.md and docs/*.md runs.
#
# A fenced block whose info string starts with "sql" is a snippet.  The
# blocks of one file run in order in one psql session (so a later block may
# use what an earlier one created, psql variables included), in a database
# made for that file.  A block must run without an error; "sql error" marks
# a block that shows one: it must fail.  The database first gets the
# extension (unless the file's first block creates it), t/docs/setup.sql
# (the tables the docs query: digits, fmnist_train, churn_train, ...), then
# t/docs/NAME.sql when there is one (what that file's snippets assume
# besides, such as a named model).
# Signatures and output are written in "text" blocks.
#
# Client snippets run too, after the file's SQL: a "python" block with
# /usr/bin/python3 and examples/python on PYTHONPATH, in order; the "js"
# blocks of a file together as one node program (they share a client, as
# in the text), with examples/node's pinned pg (npm ci when it is not
# there yet); "mydb" in a snippet stands for the file's database, and the
# server is found through PGHOST/PGPORT/PGUSER/PGDATABASE.
use strict;
use warnings;

use File::Basename qw(basename dirname);
use File::Spec;
use File::Temp qw(tempdir);
use PostgreSQL::Test::Utils;
use Test::More;

use lib dirname(__FILE__);
use HanamiFixture;

my $root = File::Spec->rel2abs(dirname(dirname(__FILE__)));
my $dir = "$root/t/docs";
my $tmp = tempdir(CLEANUP => 1);
my $node = HanamiFixture::node('docs',
	"shared_preload_libraries = 'hanami,pg_cron'",
	"cron.database_name = 'doc_jobs'",
	# PoCL cannot build kernels after the JIT compiler (docs/devices.md)
	"jit = off");

# The snippets of a markdown file: [info, text, line] for each sql block.
sub snippets
{
	my ($file) = @_;
	my (@out, $info, $text, $start);
	my $n = 0;
	open(my $fh, '<', $file) or die "$file: $!";
	while (my $line = <$fh>)
	{
		$n++;
		if (!defined $info && $line =~ /^```((?:sql|python|js)\b.*?)\s*$/)
		{
			($info, $text, $start) = ($1, '', $n);
		}
		elsif (defined $info && $line =~ /^```\s*$/)
		{
			push @out, [ $info, $text, $start ];
			undef $info;
		}
		elsif (defined $info)
		{
			$text .= $line;
		}
	}
	close $fh;
	return @out;
}

# Run a script with psql in db, without stopping at errors; returns stderr.
sub run_psql
{
	my ($db, $script) = @_;
	my ($stdout, $stderr);
	my $path = "$tmp/script.sql";
	open(my $fh, '>', $path) or die $!;
	print $fh $script;
	close $fh;
	IPC::Run::run([ 'psql', '-X', '-q', '-d', $node->connstr($db), '-f', $path ],
		'>', \$stdout, '2>', \$stderr);
	return $stderr // '';
}

# The database for the snippets of name, set up.
sub new_database
{
	my ($name, $with_extension) = @_;
	my $db = 'doc_' . lc($name =~ s/[^A-Za-z0-9]/_/gr);
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, 'CREATE EXTENSION hanami') if $with_extension;
	foreach my $setup ("$dir/setup.sql", "$dir/$name.sql")
	{
		next unless -e $setup;
		my $err = run_psql($db, "\\set ON_ERROR_STOP 1\n" . slurp_file($setup));
		is($err =~ /ERROR:/ ? $err : '', '', "$name: setup " . basename($setup));
	}
	return $db;
}

# The js blocks of file as one async node program against db: one result
# per block (a block after a failing one fails as not reached).
sub run_js
{
	my ($file, $db, @js) = @_;
	my $example = "$root/examples/node";
	unless (-d "$example/node_modules/pg")
	{
		my ($out, $err);
		local $ENV{npm_config_cache} = "$tmp/npm-cache";
		local $ENV{npm_config_update_notifier} = 'false';
		my $ok = IPC::Run::run([ 'npm', 'ci', '--prefix', $example, '--no-audit', '--no-fund', '--loglevel=error' ],
			'>', \$out, '2>', \$err);
		ok($ok, 'npm ci in examples/node') or diag($err);
	}
	my $program = "const fs = require('fs');\n(async () => {\n";
	for my $k (0 .. $#js)
	{
		my $text = $js[$k][1] =~ s/\bmydb\b/$db/gr;
		$text =~ s{require\('\./hanami'\)}{require('$example/hanami.js')}g;
		$program .= "console.error('\@\@block $k');\n$text\n";
	}
	$program .= "console.error('\@\@done');\nif (typeof client !== 'undefined') await client.end();\n"
	  . "})().catch((e) => { console.error(e); process.exit(1); });\n";
	my $path = "$tmp/snippets.js";
	open(my $fh, '>', $path) or die $!;
	print $fh $program;
	close $fh;
	my ($stdout, $stderr);
	local $ENV{NODE_PATH} = "$example/node_modules";
	local $ENV{PGHOST} = $node->host;
	local $ENV{PGPORT} = $node->port;
	local $ENV{PGUSER} = $ENV{PGUSER} // getpwuid($<);
	local $ENV{PGDATABASE} = $db;
	local $ENV{HOME} = $tmp;
	IPC::Run::run([ 'node', $path ], '>', \$stdout, '2>', \$stderr,
		init => sub { chdir $tmp or die $! });
	my $reached = -1;
	$reached = $1 while $stderr =~ /^\@\@block (\d+)$/mg;
	my $done = $stderr =~ /^\@\@done$/m;
	for my $k (0 .. $#js)
	{
		my $ok = $done || $k < $reached;
		ok($ok, basename($file) . ":$js[$k][2] runs (js)")
		  or diag($k == $reached ? $stderr : 'not reached');
	}
	return;
}

my @files = ("$root/README.md", sort glob("$root/docs/*.md"));
my $total = 0;
foreach my $file (@files)
{
	my @all = snippets($file);
	next unless @all;
	my @blocks = grep { $_->[0] =~ /^sql/ } @all;
	my @python = grep { $_->[0] =~ /^python/ } @all;
	my @js = grep { $_->[0] =~ /^js/ } @all;
	my $name = basename($file, '.md');
	my $db = new_database($name,
		!@blocks || $blocks[0][1] !~ /^\s*CREATE EXTENSION (IF NOT EXISTS )?hanami\b/i);
	my $script = '';
	for my $k (0 .. $#blocks)
	{
		$script .= "\\warn \@\@block $k\@\@\n$blocks[$k][1]\n";
	}
	my @out = split /^\@\@block (\d+)\@\@\n/m, run_psql($db, $script);
	my %said;
	for (my $k = 1; $k + 1 < @out; $k += 2)
	{
		$said{ $out[$k] } = $out[ $k + 1 ];
	}
	for my $k (0 .. $#blocks)
	{
		my ($info, $text, $line) = @{ $blocks[$k] };
		my $err = $said{$k} // '';
		# the last statement must end: it would run into the next block
		my @lines = grep { /\S/ } map { s/--.*$//r } split /\n/, $text;
		$err .= "ERROR: the snippet ends inside a statement (no semicolon)\n"
		  if @lines && $lines[-1] !~ /;\s*$|^\s*\\|\\g\w*(\s+\S+)?\s*$/;
		if ($info =~ /\berror\b/)
		{
			like($err, qr/ERROR:/, basename($file) . ":$line fails as shown");
		}
		else
		{
			is($err =~ /ERROR:|FATAL:|PANIC:/ ? $err : '', '', basename($file) . ":$line runs");
		}
		$total++;
	}
	foreach my $b (@python)
	{
		my ($info, $text, $line) = @$b;
		my ($stdout, $stderr);
		$text =~ s/\bmydb\b/$db/g;
		local $ENV{PYTHONPATH} = "$root/examples/python";
		local $ENV{PGHOST} = $node->host;
		local $ENV{PGPORT} = $node->port;
		local $ENV{PGUSER} = $ENV{PGUSER} // getpwuid($<);
		my $ok = IPC::Run::run([ '/usr/bin/python3', '-c', $text ],
			'>', \$stdout, '2>', \$stderr);
		ok($ok, basename($file) . ":$line runs (python)") or diag($stderr);
		$total++;
	}
	run_js($file, $db, @js) if @js;
	$total += @js;
}
cmp_ok($total, ">=", 20, "the docs hold $total snippets, all run");
$node->stop;
ok(!(slurp_file($node->logfile) =~ /terminated by signal|PANIC/), 'no crash');
done_testing();
