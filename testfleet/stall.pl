#!/usr/bin/perl
# A listener that never gets anywhere, for the test fleet's stall-ssh and
# stall-mysql faults (docs/testfleet.md).
#
#   stall.pl ssh   ADDRESS PORT   accept connections and never send a byte
#   stall.pl mysql ADDRESS PORT   send a MySQL v10 greeting that offers SSL,
#                                 then never answer the client
#
# Connections are kept open (never closed, never read) until the process is
# killed: a scanner that waits for the SSH banner, for the TLS handshake after
# its SSLRequest, or for the reply to its login must give up on its own timeout.
# Only perl-base modules, so it runs on any Debian without extra packages.
use strict;
use warnings;
use IO::Socket::INET;

my ($kind, $addr, $port) = @ARGV;
die "usage: stall.pl ssh|mysql ADDRESS PORT\n"
  unless defined $port && ($kind eq 'ssh' || $kind eq 'mysql');
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

$SIG{PIPE} = 'IGNORE';
my @held;
my $thread = 1;
while (my $client = $server->accept) {
    if ($kind eq 'mysql') {
        $client->autoflush(1);
        print {$client} greeting($thread++);
    }
    push @held, $client;    # held, never read, never closed
}
