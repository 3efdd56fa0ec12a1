# shellcheck shell=sh
# sslaudit file collector, run by scanner/src/collect/files.rs: POSIX sh,
# read-only (it runs ls, readlink and dd, nothing that writes). Where the
# host has perl, files.pl does the same in one process: keep the two alike
# (files_tests.rs runs both over one tree and compares).
#
# stdin: a header (token, per-file byte cap, total byte budget, record
# limit), then one request per line; every path is printf %b octal-escaped
# by the caller, so no path is ever parsed as shell syntax:
#   F PATH                      one file (or directory: metadata only)
#   T DEPTH PATH                PATH and its entries, DEPTH levels down
#   S PATTERN NAME...           data directories matching PATTERN (`*` = one
#                               component): certificate/key files and NAMEs
#   H CLIENTDIR MINUID USER...  <home>/CLIENTDIR of every /etc/passwd user
#                               with uid >= MINUID (not 65534), or named
# stdout: records, each starting on a new line with @@TOKEN and a type:
#   F: 9 netstrings (LEN:BYTES,): path, status, symlink target, ls mode,
#      owner, group, size, content, dd exit status
#   D: 1 netstring, a directory whose entries all follow (or preceded);
#   L: the record limit was reached; E: the end.

IFS= read -r tok || exit 3
IFS= read -r cap || exit 3
IFS= read -r budget || exit 3
IFS= read -r maxent || exit 3
case $tok in '' | *[!0-9a-f]*) exit 3 ;; esac
case $cap$budget$maxent in *[!0-9]*) exit 3 ;; esac
[ -n "$cap" ] && [ -n "$budget" ] && [ -n "$maxent" ] || exit 3
count=0
full=0
sent=0
oifs=$IFS

# dec ENCODED: sets d (the x keeps trailing newlines from $(...)).
dec() {
	d=$(printf '%bx' "$1")
	d=${d%x}
}

ns() {
	printf '%s:%s,' "${#1}" "$1"
}

# lsl FLAGS: mode, owner, group and size of $p from ls (POSIX output).
lsl() {
	# ls reads no stdin; the redirect keeps the request stream out of reach
	# of whatever `ls` the PATH finds.
	# shellcheck disable=SC2217
	l=$(ls "$1" -- "$p" 2>/dev/null </dev/null)
	read -r mode _ owner group size _ <<EOF
$l
EOF
}

# entry PATH: one F record.
entry() {
	[ "$full" = 1 ] && return 1
	count=$((count + 1))
	if [ "$count" -gt "$maxent" ]; then
		full=1
		printf '\n@@%s L\n' "$tok"
		return 1
	fi
	p=$1
	t=
	mode=
	owner=
	group=
	size=
	[ -L "$p" ] && t=$(readlink -f -- "$p" 2>/dev/null </dev/null)
	if [ -e "$p" ]; then
		lsl -ldL
		# A name with blanks (directory-service groups) shifts the fields:
		# fall back to numeric ids.
		case $size in '' | *[!0-9]*) lsl -ldLn ;; esac
		if [ -z "$l" ]; then
			st=missing
		elif [ -d "$p" ]; then
			if [ -r "$p" ] && [ -x "$p" ]; then st=dir; else st=unreadable; fi
		elif [ ! -f "$p" ]; then
			st=special
		elif [ ! -r "$p" ]; then
			st=unreadable
		else
			case $size in
			'' | *[!0-9]*) st=unreadable ;;
			*)
				if [ "$size" -gt "$cap" ]; then
					st=toolarge
				elif [ $((sent + size)) -gt "$budget" ]; then
					st=budget
				else
					st='file'
				fi
				;;
			esac
		fi
	elif [ -L "$p" ]; then
		st=dangling
	else
		st=missing
	fi
	printf '\n@@%s F\n' "$tok"
	ns "$p"
	ns "$st"
	ns "$t"
	ns "$mode"
	ns "$owner"
	ns "$group"
	ns "$size"
	rc=0
	if [ "$st" = file ] && [ "$size" -gt 0 ]; then
		sent=$((sent + size))
		printf '%s:' "$size"
		# One read of exactly SIZE bytes: a file that grows is cut there, one
		# that shrinks breaks the framing, which the reader detects.
		dd if="$p" bs="$size" count=1 2>/dev/null </dev/null
		rc=$?
		printf ','
	else
		printf '0:,'
	fi
	ns "$rc"
	return 0
}

# walk DIR DEPTH: the entries of DIR, and theirs DEPTH-1 levels further.
walk() {
	[ "$2" -gt 0 ] || return 0
	[ -d "$1" ] && [ -r "$1" ] && [ -x "$1" ] || return 0
	printf '\n@@%s D\n' "$tok"
	ns "$1"
	for e in "$1"/* "$1"/.[!.]* "$1"/..?*; do
		[ -e "$e" ] || [ -L "$e" ] || continue
		entry "$e" || return 1
		if [ -d "$e" ]; then
			walk "$e" $(($2 - 1)) || return 1
		fi
	done
	return 0
}

tree() {
	entry "$1" || return 1
	walk "$1" "$2"
}

# datadir DIR NAMES: DIR and the certificate/key files in it.
datadir() {
	[ -d "$1" ] || return 0
	entry "$1" || return 1
	for e in "$1"/*; do
		[ -f "$e" ] || continue
		b=${e##*/}
		want=0
		case $b in *.pem | *.crt | *.key | *.cer | *.der) want=1 ;; esac
		for n in $2; do
			[ "$n" = "$b" ] && want=1
		done
		if [ "$want" = 1 ]; then
			entry "$e" || return 1
		fi
	done
	return 0
}

homes() {
	while IFS=: read -r u_name _ u_uid _ _ u_home _; do
		case $u_uid in '' | *[!0-9]*) continue ;; esac
		want=0
		if [ "$u_uid" -ge "$2" ] && [ "$u_uid" != 65534 ]; then want=1; fi
		for x in $3; do
			[ "$x" = "$u_name" ] && want=1
		done
		case $u_home in /*) ;; *) want=0 ;; esac
		[ "$want" = 1 ] || continue
		u_home=${u_home%/}
		tree "$u_home/$1" 1 || return 1
	done </etc/passwd
	return 0
}

while IFS=' ' read -r kind a b rest; do
	case $kind in
	F)
		dec "$a"
		entry "$d"
		;;
	T)
		dec "$b"
		case $a in '' | *[!0-9]*) a=1 ;; esac
		tree "$d" "$a"
		;;
	S)
		dec "$a"
		pat=$d
		IFS=
		for dir in $pat; do
			IFS=$oifs
			datadir "$dir" "$b $rest" || break
		done
		IFS=$oifs
		;;
	H)
		dec "$a"
		homes "$d" "$b" "$rest"
		;;
	esac
	[ "$full" = 1 ] && break
done
printf '\n@@%s E\n' "$tok"
