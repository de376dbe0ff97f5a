package dbclone

// Seeds, dumps and the roles of a logical copy are SQL that came from
// outside, and the clients that run SQL also run client commands: psql's
// \! (a shell), \o |cmd and \g |cmd (a pipe), \copy ... program, \setenv,
// \i, \w ...; mariadb's system, \!, tee, source ... Any of them in a seed
// would run a program or touch a file in the helper, as root or the
// database's user, next to the volume and the credentials it holds.
// Helpers therefore feed such SQL so that no client command runs:
//
//   - psql after \restrict KEY (13.22, 14.19, 15.14, 16.10, 17.6, 18):
//     every meta-command is refused until \unrestrict KEY, and KEY is a
//     fresh random value (restrictKey) the seed cannot know. pg_dump's own
//     \restrict and \unrestrict lines (a dump made by those versions has
//     them, around everything) are left out. An image whose psql is older
//     refuses plain seeds (a custom-format dump needs no psql);
//   - mariadb with --binary-mode (no client command but DELIMITER and \C)
//     and --sandbox (none that touches a file or runs a program); an image
//     whose client has no --sandbox refuses seeds and dumps.

// restrictKeyBytes is the strength of psql's \restrict key: 32 random
// bytes, written as 64 hex digits (pg_dump's own keys are 64 characters).
const restrictKeyBytes = 32

// restrictKey is a fresh key for \restrict (crypto/rand).
func restrictKey() string { return randomHex(restrictKeyBytes) }

// psqlFunctions: restrict_ok says whether the image's psql knows
// \restrict (parsing psql --version); psql_in FILE ARGS... runs the SQL
// of FILE with psql (ARGS: where and how to connect) after \restrict with
// the key in /berth/in/restrict-key, pg_dump's own \restrict and
// \unrestrict lines (their key read from FILE's first 40 lines) left out;
// dbname_conn NAME is a connection string naming database NAME, quoted (a
// bare name holding = would be read as connection options).
const psqlFunctions = `restrict_ok() {
	local v M m
	v=$(psql --version) || return 1
	v=${v#psql (PostgreSQL) }
	M=${v%%[!0-9]*}
	m=${v#"$M"}
	[ -n "$M" ] && [ ${#M} -le 4 ] || return 1
	if [ "$M" -ge 18 ]; then
		case "$m" in .[0-9]* | rc* | devel*) return 0 ;; esac
		return 1
	fi
	case "$m" in .[0-9]*) m=${m#.}; m=${m%%[!0-9]*} ;; *) return 1 ;; esac
	[ ${#m} -le 4 ] || return 1
	case "$M" in
	13) [ "$m" -ge 22 ] ;;
	14) [ "$m" -ge 19 ] ;;
	15) [ "$m" -ge 14 ] ;;
	16) [ "$m" -ge 10 ] ;;
	17) [ "$m" -ge 6 ] ;;
	*) return 1 ;;
	esac
}
psql_in() {
	local f=$1 key own
	shift
	key=$(cat /berth/in/restrict-key)
	own=$(sed -n '1,40{s/^\\restrict \([A-Za-z0-9]\{1,\}\)$/\1/p;};40q' -- "$f")
	own=${own%%$'\n'*}
	{
		printf '\\restrict %s\n' "$key"
		hold psql
		if [ -n "$own" ]; then
			grep -v -x -F -e "\\restrict $own" -e "\\unrestrict $own" -- "$f" || [ $? -eq 1 ]
		else
			cat -- "$f"
		fi
	} | as_pg psql -X -q "$@" -f -
}
dbname_conn() { local q=${1//\\/\\\\}; q=${q//\'/\\\'}; printf "dbname='%s'" "$q"; }
`

// holdFunction: hold POINT waits, when BERTH_HOLD names POINT (a test's
// doing: dbclone never sets it), until a line is written to the fifo
// /berth/hold-POINT, and says "berth-hold POINT" on the script's standard
// error first (kept as fd 9: where it holds, the error output may be
// going elsewhere); the tests use it to look at a helper mid-run (its
// processes, its files, its network).
const holdFunction = `if [ -n "${BERTH_HOLD:-}" ]; then exec 9>&2; fi
hold() {
	case " ${BERTH_HOLD:-} " in
	*" $1 "*)
		mkdir -p /berth
		mkfifo "/berth/hold-$1"
		echo "berth-hold $1" >&9
		read -r _ <"/berth/hold-$1" || true
		;;
	esac
}
`
