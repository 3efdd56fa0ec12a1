# sslaudit file collector, Perl form: the same protocol and the same records
# as files.sh (read that file first), in one process instead of an ls, a dd
# and a subshell per file. Run by the bootstrap in files.rs when the host has
# perl (Debian's perl-base is essential); files.sh otherwise. Read-only.
#
# stdin: the header and the requests exactly as files.sh reads them.
#
# Only modules of Debian's perl-base, and nothing newer than Perl 5.10: a
# perl that cannot compile this exits 2 before reading stdin, and the
# bootstrap then runs files.sh.
use strict;
no warnings;
use File::Glob qw(bsd_glob GLOB_NOCHECK);

binmode STDIN;
binmode STDOUT;

# A line as `read -r` takes it: none without its newline.
sub line {
	my $l = <STDIN>;
	return undef unless defined $l && $l =~ s/\n\z//;
	return $l;
}

my ($tok, $cap, $budget, $maxent) = (line(), line(), line(), line());
exit 3 unless defined $maxent;
exit 3 unless $tok =~ /\A[0-9a-f]+\z/;
exit 3 unless "$cap$budget$maxent" =~ /\A[0-9]*\z/;
exit 3 unless length $cap && length $budget && length $maxent;
my ($count, $full, $sent) = (0, 0, 0);

sub ns { print length($_[0]), ':', $_[0], ',' }

# printf %b of the caller's escapes (\0NNN octal; nothing else is sent).
sub dec {
	my $s = shift;
	$s =~ s/\\0([0-7]{1,3})/chr(oct $1)/ge;
	return $s;
}

# `readlink -f`: every component but the last must exist; '' on failure.
sub canon {
	my @todo = grep { length } split m{/}, $_[0];
	my @done;
	my $links = 0;
	while (@todo) {
		my $c = shift @todo;
		next if $c eq '.';
		if ($c eq '..') { pop @done; next }
		my $at = '/' . join('/', @done, $c);
		if (-l $at) {
			return '' if ++$links > 40;
			my $to = readlink $at;
			return '' unless defined $to;
			@done = () if $to =~ m{\A/};
			unshift @todo, grep { length } split m{/}, $to;
			next;
		}
		if (!-e $at) { return '' if @todo }
		elsif (@todo && !-d _) { return '' }
		push @done, $c;
	}
	return '/' . join('/', @done);
}

# The mode string of `ls -l` (without the ACL/SELinux mark).
sub modestr {
	my $m = shift;
	my $t = $m & 0170000;
	my $s = $t == 0040000 ? 'd' : $t == 0100000 ? '-' : $t == 0120000 ? 'l'
	  : $t == 0020000 ? 'c' : $t == 0060000 ? 'b' : $t == 0010000 ? 'p'
	  : $t == 0140000 ? 's' : '?';
	my @bits = split //, 'rwxrwxrwx';
	for my $i (0 .. 8) { $s .= ($m & (0400 >> $i)) ? $bits[$i] : '-' }
	substr($s, 3, 1) = ($m & 0100) ? 's' : 'S' if $m & 04000;
	substr($s, 6, 1) = ($m & 010) ? 's' : 'S' if $m & 02000;
	substr($s, 9, 1) = ($m & 01) ? 't' : 'T' if $m & 01000;
	return $s;
}

# What files.sh takes from `ls -ldL` (and `ls -ldLn` when a name has blanks
# or the size field is a device's `major,`).
sub lsl {
	my @st = @_;
	my $t = $st[2] & 0170000;
	my $size = $st[7];
	my $dev = $t == 0020000 || $t == 0060000;
	if ($dev) {
		my $r = $st[6];
		$size = ((($r >> 8) & 0xfff) | (($r >> 32) & ~0xfff)) . ',';
	}
	my $owner = getpwuid($st[4]);
	my $group = getgrgid($st[5]);
	$owner = $st[4] unless defined $owner && length $owner;
	$group = $st[5] unless defined $group && length $group;
	($owner, $group) = ($st[4], $st[5]) if $dev || "$owner$group" =~ /\s/;
	return (modestr($st[2]), $owner, $group, $size);
}

sub entry {
	my $p = shift;
	return 0 if $full;
	$count++;
	if ($count > $maxent) {
		$full = 1;
		print "\n\@\@$tok L\n";
		return 0;
	}
	my ($t, $mode, $owner, $group, $size, $st) = ('', '', '', '', '', '');
	$t = canon($p) if -l $p;
	my @stat = stat $p;
	if (@stat) {
		($mode, $owner, $group, $size) = lsl(@stat);
		if (-d _) {
			$st = (-r $p && -x $p) ? 'dir' : 'unreadable';
		} elsif (!-f _) {
			$st = 'special';
		} elsif (!-r $p) {
			$st = 'unreadable';
		} elsif ($size > $cap) {
			$st = 'toolarge';
		} elsif ($sent + $size > $budget) {
			$st = 'budget';
		} else {
			$st = 'file';
		}
	} elsif (-l $p) {
		$st = 'dangling';
	} else {
		$st = 'missing';
	}
	print "\n\@\@$tok F\n";
	ns($_) for $p, $st, $t, $mode, $owner, $group, $size;
	my $rc = 0;
	if ($st eq 'file' && $size > 0) {
		$sent += $size;
		print "$size:";
		# One read of exactly SIZE bytes, as files.sh's dd.
		if (open(my $fh, '<:raw', $p)) {
			my $got = sysread($fh, my $buf, $size);
			if (defined $got) { print $buf } else { $rc = 1 }
			close $fh;
		} else {
			$rc = 1;
		}
		print ',';
	} else {
		print '0:,';
	}
	ns($rc);
	return 1;
}

# The entries of DIR as files.sh's globs list them: `*`, `.[!.]*`, `..?*`,
# each sorted bytewise.
sub listing {
	my ($d, $hidden) = @_;
	opendir(my $dh, $d) or return ();
	my @n = readdir $dh;
	closedir $dh;
	my @out = sort grep { !/\A\./ } @n;
	push @out, (sort grep { /\A\.[^.]/ } @n), (sort grep { /\A\.\../s } @n) if $hidden;
	return map { "$d/$_" } @out;
}

sub walk {
	my ($d, $depth) = @_;
	return 1 unless $depth > 0;
	return 1 unless -d $d && -r $d && -x $d;
	print "\n\@\@$tok D\n";
	ns($d);
	for my $e (listing($d, 1)) {
		next unless -e $e || -l $e;
		entry($e) or return 0;
		if (-d $e) { walk($e, $depth - 1) or return 0 }
	}
	return 1;
}

sub tree {
	entry($_[0]) or return 0;
	return walk($_[0], $_[1]);
}

sub datadir {
	my ($d, @names) = @_;
	return 1 unless -d $d;
	entry($d) or return 0;
	for my $e (listing($d, 0)) {
		next unless -f $e;
		my ($b) = $e =~ m{([^/]*)\z}s;
		next unless $b =~ /\.(?:pem|crt|key|cer|der)\z/s || grep { $_ eq $b } @names;
		entry($e) or return 0;
	}
	return 1;
}

sub homes {
	my ($dir, $min, @users) = @_;
	open(my $pw, '<', '/etc/passwd') or return 1;
	while (my $l = <$pw>) {
		last unless $l =~ s/\n\z//;
		my ($name, undef, $uid, undef, undef, $home) = split /:/, $l, 7;
		next unless $uid =~ /\A[0-9]+\z/;
		my $want = ($uid >= $min && $uid ne '65534') || grep { $_ eq $name } @users;
		next unless $want && $home =~ m{\A/};
		$home =~ s{/\z}{};
		tree("$home/$dir", 1) or return 0;
	}
	return 1;
}

while (defined(my $l = line())) {
	$l =~ s/\A +//;
	$l =~ s/ +\z//;
	my ($kind, $a, $b, $rest) = split / +/, $l, 4;
	if ($kind eq 'F') {
		entry(dec($a));
	} elsif ($kind eq 'T') {
		$a = 1 unless $a =~ /\A[0-9]+\z/;
		tree(dec($b), $a);
	} elsif ($kind eq 'S') {
		my @names = split ' ', "$b $rest";
		for my $dir (bsd_glob(dec($a), GLOB_NOCHECK)) {
			datadir($dir, @names) or last;
		}
	} elsif ($kind eq 'H') {
		homes(dec($a), $b, split(' ', $rest));
	}
	last if $full;
}
print "\n\@\@$tok E\n";
