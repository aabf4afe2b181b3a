# t/160_packaging.pl - the distribution: LICENSE, a PGXN META.json that has
# the spec's required keys and the one version every file agrees on, and
# `make dist`, whose tarball holds exactly the tracked files and builds and
# installs on its own.
#
# Runs in the source tree (the test command's build tree is a copy without
# .git): its files are committed into a scratch repository and cloned, so
# `make dist` packs what a checkout's HEAD would; nothing is written into
# the tree. The tarball is built with the PATH's pg_config (PG_CONFIG
# overrides) and installed under a temporary DESTDIR.
use strict;
use warnings;

use Cwd ();
use File::Temp ();
use JSON::PP ();
use PostgreSQL::Test::Utils;
use Test::More;

my $root = Cwd::getcwd();
my $tmp = File::Temp::tempdir('hanami-dist-XXXXXX', TMPDIR => 1, CLEANUP => 1);

sub slurp
{
	my ($file) = @_;
	open(my $fh, '<', $file) or die "cannot read $file: $!";
	local $/;
	my $text = <$fh>;
	close $fh;
	return $text;
}

# run_ok(\@cmd, $name, %opts): run a command (in $opts{dir}), an assertion
# with its output shown on failure; returns its stdout.
sub run_ok
{
	my ($cmd, $name, %opts) = @_;
	my ($out, $err) = ('', '');
	my $cwd = Cwd::getcwd();
	chdir($opts{dir}) if $opts{dir};
	my $ok = IPC::Run::run($cmd, '>', \$out, '2>', \$err);
	chdir($cwd);
	ok($ok, $name) or diag("@$cmd failed:\n$out\n$err");
	return $out;
}

# ------------------------------------------------------------ LICENSE
ok(-f "$root/LICENSE", 'LICENSE exists');
my $license = -f "$root/LICENSE" ? slurp("$root/LICENSE") : '';
like($license, qr/^PostgreSQL License\n/, 'LICENSE is the PostgreSQL License');
like($license, qr/^Copyright \(c\) 2026, the hanami authors$/m, 'LICENSE carries the copyright line');
like($license, qr/Permission to use, copy, modify, and distribute this software/, 'LICENSE grants the permissions');
like(slurp("$root/README.md"), qr/^## License\n\nPostgreSQL License/m, 'README names the same license');

# ---------------------------------------------------------- META.json
my $meta = eval { JSON::PP->new->decode(slurp("$root/META.json")) };
ok(ref $meta eq 'HASH', 'META.json is a JSON object') or diag($@);
$meta = {} unless ref $meta eq 'HASH';

# PGXN Meta Spec 1.0.0: the mandatory keys, and the shape of each
my @missing = grep { !defined $meta->{$_} } qw(name abstract version maintainer license provides meta-spec);
is("@missing", '', 'META.json has every key the spec requires');
is($meta->{'meta-spec'}{version}, '1.0.0', 'META.json follows meta-spec 1.0.0');
is($meta->{name}, 'hanami', 'META.json: name');
like($meta->{abstract} // '', qr/\S/, 'META.json: abstract');
like(ref $meta->{maintainer} eq 'ARRAY' ? join(',', @{ $meta->{maintainer} }) : $meta->{maintainer} // '',
	qr/\S/, 'META.json: maintainer');
is($meta->{license}, 'postgresql', 'META.json: license is postgresql (as LICENSE)');
my $semver = qr/^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+)?$/;
like($meta->{version} // '', $semver, 'META.json: version is a semantic version');
like($meta->{release_status} // '', qr/^(stable|testing|unstable)$/, 'META.json: release_status');
my $provided = $meta->{provides}{hanami} // {};
my @pmissing = grep { !defined $provided->{$_} } qw(file version abstract);
is("@pmissing", '', 'META.json provides hanami with file, version and abstract');
ok(defined $provided->{file} && -f "$root/$provided->{file}", "META.json: the provided file is in the tree");
ok(!defined $provided->{docfile} || -f "$root/$provided->{docfile}", 'META.json: the docfile is in the tree');
like($meta->{prereqs}{runtime}{requires}{PostgreSQL} // '', qr/(^|\s)15\.0\.0(,|$)/,
	'META.json: requires PostgreSQL 15');
ok(ref $meta->{tags} eq 'ARRAY' && @{ $meta->{tags} } && !grep({ !/^\S.{0,253}$/ } @{ $meta->{tags} }),
	'META.json: tags');

# ------------------------------------------------------ one version
my %versions;
$versions{'META.json version'} = $meta->{version};
$versions{'META.json provides.hanami.version'} = $provided->{version};
($versions{'hanami.control default_version'}) = slurp("$root/hanami.control") =~ /^default_version\s*=\s*'([^']*)'/m;
($versions{'Makefile EXTVERSION'}) = slurp("$root/Makefile") =~ /^EXTVERSION\s*=\s*(\S+)/m;
($versions{'CHANGELOG.md top version'}) = slurp("$root/CHANGELOG.md") =~ /^## (\d+\.\d+\.\d+)/m;
($versions{'t/095_upgrade.pl current version'}) = slurp("$root/t/095_upgrade.pl") =~ /^my \$current = '([^']*)'/m;
my $version = $versions{'Makefile EXTVERSION'} // '';
my @disagree = map { "$_: " . ($versions{$_} // 'not found') } grep { ($versions{$_} // '') ne $version } sort keys %versions;
is(join('; ', @disagree), '', "one version everywhere ($version)")
	or diag(join("\n", map { "  $_: " . ($versions{$_} // 'not found') } sort keys %versions));
my @upgrades = map { m{hanami--[\d.]+--([\d.]+)\.sql$} ? $1 : () } glob("$root/sql/hanami--*--*.sql");
ok(grep({ $_ eq $version } @upgrades), "an upgrade script leads to $version");

# ------------------------------------------------------------ make dist
# The tree's files (tracked, plus untracked ones git does not ignore)
# committed into a scratch repository and cloned: a checkout whose HEAD is
# this tree. The data sets the test command moves away are not part of it.
my $repo = "$tmp/checkout";
my @git = ('git', '-c', 'user.name=hanami test', '-c', 'user.email=test@localhost', '-c', 'init.defaultBranch=main');
my @scratch = (@git, "--git-dir=$tmp/scratch.git", "--work-tree=$root");
run_ok([ @scratch, 'init', '-q' ], 'git init a scratch repository');
run_ok([ @scratch, 'add', '-A', '--', '.', ':!data.moved-away' ], 'git add the tree');
run_ok([ @scratch, 'commit', '-q', '-m', 'dist test' ], 'git commit');
run_ok([ @git, 'clone', '-q', "$tmp/scratch.git", $repo ], 'git clone: a checkout');
my @tracked = sort split /\n/, run_ok([ 'git', '-C', $repo, 'ls-files' ], 'git ls-files');
ok(scalar(grep { $_ eq 'LICENSE' || $_ eq 'META.json' } @tracked) == 2, 'LICENSE and META.json are tracked files');
ok(!grep({ /\.(o|so|bc)$/ || m{(^|/)(results|tmp_check|log)/} } @tracked), 'no build output is tracked');
ok(!grep({ $_ eq "sql/hanami--$version.sql" } @tracked),
	"$version has no checked-in install script: make builds it from sql/parts");

my $dist_out = run_ok([ 'make', '-s', 'dist' ], 'make dist', dir => $repo);
my $tarball = "$repo/hanami-$version.tar.gz";
ok(-f $tarball, "make dist writes hanami-$version.tar.gz");
my @listed = sort grep { !m{/$} } split /\n/, run_ok([ 'tar', '-tzf', $tarball ], 'the tarball is a gzipped tar');
is_deeply(\@listed, [ map { "hanami-$version/$_" } @tracked ],
	"the tarball holds every tracked file, under hanami-$version/, and nothing else");

# outside a checkout it refuses clearly
{
	my ($out, $err) = ('', '');
	my $plain = "$tmp/plain";
	mkdir $plain or die;
	system('cp', "$root/Makefile", "$plain/Makefile") == 0 or die;
	my $ok = IPC::Run::run([ 'make', '-s', '-C', $plain, 'dist' ], '>', \$out, '2>', \$err);
	ok(!$ok, 'make dist outside a git checkout fails');
	like($err, qr/run it at the top of a git checkout/, 'and says why');
}

# ----------------------------------------- the tarball builds and installs
my $unpacked = "$tmp/unpacked";
mkdir $unpacked or die;
run_ok([ 'tar', '-xzf', $tarball, '-C', $unpacked ], 'unpack the tarball');
my $src = "$unpacked/hanami-$version";
my $pg_config = $ENV{PG_CONFIG} // 'pg_config';
run_ok([ 'make', '-s', '-j2', "PG_CONFIG=$pg_config" ], 'the unpacked tarball builds', dir => $src);
my $destdir = "$tmp/root";
run_ok([ 'make', '-s', "PG_CONFIG=$pg_config", "DESTDIR=$destdir", 'install' ],
	'and installs (DESTDIR)', dir => $src);

chomp(my $pkglibdir = `$pg_config --pkglibdir`);
chomp(my $sharedir = `$pg_config --sharedir`);
my $extdir = "$destdir$sharedir/extension";
ok(-f "$destdir$pkglibdir/hanami.so", 'installed: hanami.so');
is(slurp("$extdir/hanami.control"), slurp("$root/hanami.control"), 'installed: hanami.control');
my @scripts = sort map { s{.*/}{}r } glob("$extdir/hanami--*.sql");
my @expected = sort((map { m{^sql/(hanami--.*\.sql)$} ? $1 : () } @tracked), "hanami--$version.sql");
is_deeply(\@scripts, \@expected, 'installed: every install and upgrade script, the current one included');
ok(-f "$extdir/hanami--$version.sql" && -f "$root/sql/hanami--$version.sql"
	  && slurp("$extdir/hanami--$version.sql") eq slurp("$root/sql/hanami--$version.sql"),
	"installed: hanami--$version.sql equals the test build's");
my @nm = split /\n/, `nm -D --defined-only "$destdir$pkglibdir/hanami.so" 2>/dev/null`;
ok(scalar(grep { /\bPg_magic_func$/ } @nm) && scalar(grep { /\b_PG_init$/ } @nm),
	'installed: hanami.so is a PostgreSQL module');

done_testing();
