#!/usr/bin/perl
# A listener that never gets anywhere, for the test fleet's stall-ssh,
# stall-mysql, mysql-ssl-error and mysql-tls-reset faults (docs/testfleet.md).
#
#   stall.pl ssh   ADDRESS PORT   accept connections and never send a byte
#   stall.pl mysql ADDRESS PORT   send a MySQL v10 greeting that offers SSL,
#                                 then never answer the client
#   stall.pl mysql-sslerr ...     greeting, then answer the client's first
#                                 packet (its SSLRequest) with an error packet
#                                 and close
#   stall.pl mysql-reset ...      greeting, read the SSLRequest and the start of
#                                 the TLS ClientHello, then reset the connection
#                                 (SO_LINGER 0: an RST, not a FIN)
#
# Connections are kept open (never closed, never read) until the process is
# killed: a scanner that waits for the SSH banner, for the TLS handshake after
# its SSLRequest, or for the reply to its login must give up on its own timeout.
# Only perl-base modules, so it runs on any Debian without extra packages.
use strict;
use warnings;
use IO::Socket::INET;
use Socket qw(SOL_SOCKET SO_LINGER);

my ($kind, $addr, $port) = @ARGV;
my %kinds = map { $_ => 1 } qw(ssh mysql mysql-sslerr mysql-reset);
die "usage: stall.pl ssh|mysql|mysql-sslerr|mysql-reset ADDRESS PORT\n"
  unless defined $port && $kinds{$kind};
die "stall.pl: refusing non-loopback address $addr\n" unless $addr =~ /^127\./;

my $server = IO::Socket::INET->new(
    LocalAddr => $addr,
    LocalPort => $port,
    Proto     => 'tcp',
    Listen    => 128,
    ReuseAddr => 1,
) or die "stall.pl: cannot listen on $addr:$port: $!\n";

# Protocol 10 handshake as MariaDB 10.11 sends it. Capabilities include
# CLIENT_SSL (0x0800), CLIENT_PROTOCOL_41 (0x0200) and
# CLIENT_SECURE_CONNECTION (0x8000) so a client goes on to its SSLRequest.
sub greeting {
    my ($thread) = @_;
    my $caps    = 0xF7FE | 0x0800;
    my $caps_hi = 0x81BF;
    my $payload = pack('C', 10)
      . "5.5.5-10.11.99-MariaDB-stall\0"
      . pack('V', $thread)
      . 'stallsal'                      # auth-plugin-data part 1 (8 bytes)
      . "\0"
      . pack('v', $caps & 0xFFFF)
      . pack('C', 45)                   # utf8mb4_general_ci
      . pack('v', 0x0002)               # SERVER_STATUS_AUTOCOMMIT
      . pack('v', $caps_hi)
      . pack('C', 21)                   # length of the auth-plugin data
      . ("\0" x 6) . pack('V', 0)       # reserved, MariaDB extended caps
      . 'stallsaltxyz' . "\0"           # auth-plugin-data part 2 (13 bytes)
      . "mysql_native_password\0";
    my $len = length $payload;
    return pack('CCCC', $len & 0xFF, ($len >> 8) & 0xFF, ($len >> 16) & 0xFF, 0) . $payload;
}

# Reads one MySQL packet (header and payload) within 10 s; undef if the
# client closed or said nothing.
sub read_packet {
    my ($c) = @_;
    my $buf = '';
    local $SIG{ALRM} = sub { die "timeout\n" };
    my $ok = eval {
        alarm 10;
        while (length($buf) < 4) { sysread($c, $buf, 4 - length($buf), length($buf)) or die "eof\n" }
        my $len = unpack('V', substr($buf, 0, 3) . "\0");
        while (length($buf) < 4 + $len) { sysread($c, $buf, 4 + $len - length($buf), length($buf)) or die "eof\n" }
        alarm 0;
        1;
    };
    alarm 0;
    return $ok ? $buf : undef;
}

# The faults that answer: one child per connection, so a silent client never
# holds up the next one.
sub answer {
    my ($c, $thread) = @_;
    $c->autoflush(1);
    print {$c} greeting($thread);
    my $req = read_packet($c) or return;
    my $seq = (unpack('C', substr($req, 3, 1)) + 1) & 0xFF;
    if ($kind eq 'mysql-sslerr') {
        # ER_HANDSHAKE_ERROR, as a server whose TLS is broken answers.
        my $err = pack('C', 0xFF) . pack('v', 1043) . '#08S01' . 'Bad handshake';
        my $len = length $err;
        print {$c} pack('CCCC', $len & 0xFF, ($len >> 8) & 0xFF, 0, $seq) . $err;
        close $c;
        return;
    }
    # mysql-reset: wait for the first bytes of the ClientHello, then RST.
    my $hello = '';
    local $SIG{ALRM} = sub { die "timeout\n" };
    eval { alarm 10; sysread($c, $hello, 5); alarm 0; };
    alarm 0;
    setsockopt($c, SOL_SOCKET, SO_LINGER, pack('ii', 1, 0));
    close $c;
}

$SIG{PIPE} = 'IGNORE';
my @held;
my $thread = 1;
if ($kind eq 'mysql-sslerr' || $kind eq 'mysql-reset') {
    $SIG{CHLD} = 'IGNORE';    # children are reaped by the kernel
    while (my $client = $server->accept) {
        my $pid = fork;
        if (defined $pid && $pid == 0) {
            close $server;
            answer($client, $thread);
            exit 0;
        }
        $thread++;
        close $client;
    }
    exit 0;
}
while (my $client = $server->accept) {
    if ($kind eq 'mysql') {
        $client->autoflush(1);
        print {$client} greeting($thread++);
    }
    push @held, $client;    # held, never read, never closed
}
