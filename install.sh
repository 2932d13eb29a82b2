#!/bin/sh
# install.sh: build venvexec, install it under a prefix with its default
# shims, and record what was created so that --uninstall removes exactly
# that. POSIX sh (dash is the reference shell); see `sh install.sh --help`.
set -eu

usage() {
	cat <<'EOF'
Usage: sh install.sh [--prefix DIR] [--binary PATH] [--no-modify-profile]
                     [--uninstall] [--help]

Builds venvexec with `cargo build --release --locked` (fully static on
Linux/glibc when that works, else the usual dynamic build), installs it as
PREFIX/bin/venvexec, and runs its `venvexec setup`: the default shims
(python, python3, pip, pip3, and python3.N for each version the machine has),
the PATH line in your shell profiles, completions and the man page. What it
creates is recorded in DATA_DIR/venvexec/install-manifest, so that
--uninstall removes exactly that. Running it again changes nothing unless
the binary changed.

Options:
  --prefix DIR         install under DIR (default: $PREFIX, else $HOME/.local)
  --binary PATH        install this prebuilt venvexec binary instead of building
  --no-modify-profile  print the PATH line instead of adding it to the profiles
  --uninstall          remove the binary, its shim links, the PATH line, the
                       completions, and the directories install.sh created,
                       if they are empty
  -h, --help           show this help

Environment:
  PREFIX              the default for --prefix
  VENVEXEC_SHIMS_DIR  the shims directory (default: DATA_DIR/venvexec/shims)
  XDG_DATA_HOME       DATA_DIR (default: $HOME/.local/share)
  CARGO_TARGET_DIR, RUSTFLAGS
                      passed on to cargo

install.sh never overwrites or removes a file that is not its own: a foreign
PREFIX/bin/venvexec or shim is left alone and reported (exit status 1).
EOF
}

nl='
'
tab=$(printf '\t')

say() { printf '%s\n' "$*"; }
warn() { printf 'install.sh: %s\n' "$*" >&2; }
die() {
	warn "$@"
	exit 1
}
usage_error() {
	warn "$1"
	say "Try 'sh install.sh --help'." >&2
	exit 2
}

# --- paths ------------------------------------------------------------------

# The absolute form of $1: a relative path is taken from the current
# directory, `~` is the home directory, and trailing slashes go.
absolute() {
	p=$1
	case $p in
	[~]) p=$HOME ;;
	[~]/*) p=$HOME/${p#??} ;;
	esac
	case $p in
	/*) ;;
	*)
		while :; do
			case $p in
			./*) p=${p#./} ;;
			.) p= ;;
			*) break ;;
			esac
		done
		p=$(pwd -P)/$p
		;;
	esac
	while :; do
		case $p in
		?*/) p=${p%/} ;;
		*) break ;;
		esac
	done
	printf '%s\n' "$p"
}

# The physical (symlink-free) path of directory $1, or nothing if it does not
# exist. Shim links point at the canonical path of the binary.
physical_dir() {
	(CDPATH='' cd -P -- "$1" 2>/dev/null && pwd -P) || true
}

# A path's canonical form when its directory exists, else the path as given.
canonical_file() {
	d=$(physical_dir "$(dirname -- "$1")")
	if [ -n "$d" ]; then
		printf '%s/%s\n' "${d%/}" "$(basename -- "$1")"
	else
		printf '%s\n' "$1"
	fi
}

# $1 for use inside double quotes in a shell profile.
dquote() {
	printf '%s\n' "$1" | sed 's/[\\"$`]/\\&/g'
}

# The directories that `mkdir -p $1` would create, deepest first, one a line.
missing_dirs() {
	d=$1
	while [ ! -d "$d" ] && [ ! -L "$d" ] && [ "$d" != / ] && [ "$d" != . ]; do
		printf '%s\n' "$d"
		d=$(dirname -- "$d")
	done
}

# --- is it ours? -------------------------------------------------------------

# Prints what `$1 --version` says, with a time limit when `timeout` exists: a
# foreign file at our path is run only if it is executable, and must not hang
# the installer.
version_of() {
	if command -v timeout >/dev/null 2>&1; then
		timeout 10 "$1" --version </dev/null 2>/dev/null
	else
		"$1" --version </dev/null 2>/dev/null
	fi
}

# Whether file $1 is a venvexec binary: an executable regular file whose
# `--version` starts with "venvexec ". Anything else is foreign and is never
# run. $1 must be named venvexec*, the name that selects the CLI face.
is_venvexec() {
	[ -f "$1" ] && [ -x "$1" ] || return 1
	v=$(version_of "$1") || return 1
	case $v in
	"venvexec "*) return 0 ;;
	*) return 1 ;;
	esac
}

# Whether venvexec binary $1 has the `setup` subcommand. Asked through
# `help`: an older binary would take `setup` for a command to run.
has_setup() {
	"$1" help setup >/dev/null 2>&1 </dev/null
}

# Whether $1 is a symlink whose text is exactly $2: a shim we linked to the
# binary at $2 (`venvexec shims install` links to the canonical path).
links_to() {
	[ -L "$1" ] && [ "$(readlink -- "$1")" = "$2" ]
}

# The names of the links in directory $1 that point at binary $2, one a line.
links_in() {
	[ -d "$1" ] || return 0
	for f in "$1"/* "$1"/.[!.]* "$1"/..?*; do
		if links_to "$f" "$2"; then
			basename -- "$f"
		fi
	done
}

# --- the manifest ------------------------------------------------------------

# Reads the manifest into m_binary, m_shims, m_names and m_dirs (one a line).
read_manifest() {
	m_binary='' m_shims='' m_names='' m_dirs=''
	[ -f "$manifest" ] || return 0
	while IFS= read -r line || [ -n "$line" ]; do
		case $line in
		"binary$tab"*) m_binary=${line#binary"$tab"} ;;
		"shims$tab"*) m_shims=${line#shims"$tab"} ;;
		"shim$tab"*) m_names=$m_names${line#shim"$tab"}$nl ;;
		"dir$tab"*) m_dirs=$m_dirs${line#dir"$tab"}$nl ;;
		esac
	done <"$manifest"
}

# Whether what the manifest records is still there: the binary, or a link to
# it in the recorded shims directory.
recorded_install_exists() {
	[ -n "$m_binary" ] || return 1
	is_venvexec "$m_binary" && return 0
	[ -n "$(links_in "$m_shims" "$m_binary")" ]
}

# Writes the manifest, leaving the file (and its directory) untouched when
# nothing changed: it is composed in the scratch directory first.
write_manifest() {
	composed=$probe_dir/install-manifest
	{
		say "# venvexec install manifest: written by install.sh, read by install.sh --uninstall."
		say "binary$tab$1"
		say "shims$tab$2"
		printf '%s' "$3" | while IFS= read -r n; do say "shim$tab$n"; done
		printf '%s' "$4" | sort -u -r | while IFS= read -r d; do
			[ -z "$d" ] || say "dir$tab$d"
		done
	} >"$composed" || die "cannot write $composed"
	if ! cmp -s "$composed" "$manifest"; then
		mkdir -p -- "$manifest_dir" || die "cannot create $manifest_dir"
		tmp_manifest=$manifest.tmp.$$
		if ! { cp -- "$composed" "$tmp_manifest" && mv -f -- "$tmp_manifest" "$manifest"; }; then
			die "cannot write $manifest"
		fi
		tmp_manifest=''
	fi
	rm -f -- "$composed"
}

# --- building ----------------------------------------------------------------

# Builds the release binary and sets `src` and `kind`. On Linux/glibc it first
# tries a fully static build (faster to start, runs in any container), and
# falls back to the dynamic one if that fails to build or to run.
build() {
	command -v cargo >/dev/null 2>&1 ||
		die "cargo is not on PATH: install Rust (https://rustup.rs), or pass --binary PATH"
	[ -f "$here/Cargo.toml" ] ||
		die "no Cargo.toml beside install.sh (in $here): run it from the venvexec source tree, or pass --binary PATH"
	# cargo runs in the source tree; a relative CARGO_TARGET_DIR still means
	# relative to where the user stands.
	case ${CARGO_TARGET_DIR:-} in
	'' | /*) ;;
	*)
		CARGO_TARGET_DIR=$(absolute "$CARGO_TARGET_DIR")
		export CARGO_TARGET_DIR
		;;
	esac
	target_dir=$(cd "$here" && cargo metadata --format-version 1 --no-deps 2>/dev/null |
		sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p') || target_dir=''
	[ -n "$target_dir" ] || target_dir=${CARGO_TARGET_DIR:-$here/target}
	host=$("${RUSTC:-rustc}" -vV 2>/dev/null | sed -n 's/^host: //p') || host=''

	case $host in
	*-linux-gnu*)
		# Not position-independent (relocation-model=static): a static-pie
		# relocates itself at every start, a third of what a shim costs
		# (README: Performance, Security).
		say "building a static venvexec: cargo build --release --locked --target $host (+crt-static, non-PIE)"
		src=$target_dir/$host/release/venvexec
		if (cd "$here" && RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }-C target-feature=+crt-static -C relocation-model=static" \
			cargo build --release --locked --target "$host") && is_venvexec "$src"; then
			kind='static build'
			return 0
		fi
		warn "the static build did not work (see above): building the usual dynamic binary instead"
		;;
	esac
	say "building venvexec: cargo build --release --locked"
	(cd "$here" && cargo build --release --locked) || die "cargo build failed (see above)"
	src=$target_dir/release/venvexec
	kind='release build'
}

# --- install -------------------------------------------------------------------

do_install() {
	# A foreign file at our path stops everything, before a slow build.
	if [ -e "$dest" ] || [ -L "$dest" ]; then
		is_venvexec "$dest" ||
			die "$dest exists and is not a venvexec binary: left it alone, installed nothing
  hint: move it away, or install elsewhere with --prefix DIR"
	fi

	if [ -n "$binary" ]; then
		src=$(absolute "$binary")
		kind=prebuilt
	else
		build
	fi
	[ -f "$src" ] || die "$src: no such file"
	[ -x "$src" ] || die "$src is not executable"

	# Ask the binary itself, under the name that selects its CLI face (the
	# file may be called anything), before anything is touched.
	probe_dir=$(mktemp -d "${TMPDIR:-/tmp}/venvexec-install.XXXXXX") ||
		die "cannot create a temporary directory"
	ln -s "$src" "$probe_dir/venvexec" || die "cannot create a link in $probe_dir"
	version=$(version_of "$probe_dir/venvexec") || version=''
	case $version in
	"venvexec "*) version=$(say "$version" | sed 1q) ;;
	*) die "$src is not a venvexec binary: \`$src --version\` does not print \"venvexec VERSION\"" ;;
	esac
	shims_dir=$("$probe_dir/venvexec" shims dir) || die "cannot tell where the shims directory is (see above)"
	case $shims_dir in
	/*) ;;
	*) die "the shims directory \"$shims_dir\" is not an absolute path: set VENVEXEC_SHIMS_DIR to an absolute one" ;;
	esac

	read_manifest
	if [ -n "$m_binary" ] &&
		{ [ "$m_binary" != "$(canonical_file "$dest")" ] || [ "$m_shims" != "$shims_dir" ]; } &&
		recorded_install_exists; then
		die "venvexec is already installed at $m_binary with shims in $m_shims (recorded in $manifest): installed nothing
  hint: remove that install first with: sh install.sh --uninstall"
	fi

	# The directories this run creates, so that --uninstall can remove them
	# again; an earlier run's record of the same install is kept.
	new_dirs=$(missing_dirs "$bindir"; missing_dirs "$shims_dir"; missing_dirs "$manifest_dir")$nl
	if [ "$m_binary" = "$(canonical_file "$dest")" ] && [ "$m_shims" = "$shims_dir" ]; then
		new_dirs=$m_dirs$new_dirs
	fi

	if [ -f "$dest" ] && cmp -s "$src" "$dest"; then
		say "$dest is up to date ($version)"
	else
		mkdir -p -- "$bindir" || die "cannot create $bindir"
		# Copy beside the target and rename: never a half-written binary
		# on PATH, and a running venvexec keeps its old file.
		tmp_bin=$bindir/.venvexec.tmp.$$
		if ! { cp -- "$src" "$tmp_bin" && chmod 755 "$tmp_bin" && mv -f -- "$tmp_bin" "$dest"; }; then
			die "cannot install $dest"
		fi
		tmp_bin=''
		say "installed $dest ($version, $kind)"
	fi
	installed=$(canonical_file "$dest")

	# The shims, the PATH line in the shell profiles, completions and the man
	# page: the binary's own `setup`, the command pip and pipx users run. A
	# prebuilt binary from before `setup` existed only links the shims.
	shims_status=0
	if has_setup "$dest"; then
		# shellcheck disable=SC2086 # $profile_flag is one word or none
		"$dest" setup --dir "$shims_dir" $profile_flag || shims_status=$?
	else
		"$dest" shims install --dir "$shims_dir" >/dev/null || shims_status=$?
		say "To use the shims, put this line in your shell profile (~/.profile, ~/.bashrc or ~/.zshrc) and start a new shell:"
		say "  export PATH=\"$(dquote "$shims_dir"):\$PATH\""
	fi
	names=$(links_in "$shims_dir" "$installed")
	if [ -n "$names" ]; then
		names=$names$nl
	fi
	write_manifest "$installed" "$shims_dir" "$names" "$new_dirs"

	if [ "$shims_status" -ne 0 ]; then
		die "\`venvexec setup\` did not link every shim in $shims_dir (see above); $dest is installed and recorded in $manifest
  hint: deal with what is named above (a file that is not a venvexec link is never replaced), then run install.sh again"
	fi
	say "shims in $shims_dir:$(printf '%s' "$names" | tr '\n' ' ' | sed 's/^/ /; s/ $//')"
	say "recorded in $manifest (undo with: sh install.sh --uninstall)"

	if [ "${PATH%%:*}" = "$shims_dir" ]; then
		say "$shims_dir is first on your PATH: the shims are in use."
	fi
	case ":$PATH:" in
	*":$bindir:"*) ;;
	*) say "(venvexec itself is in $bindir, which is not on your PATH: run it by that path, or add the directory too)" ;;
	esac
}

# --- uninstall ---------------------------------------------------------------

do_uninstall() {
	read_manifest
	if [ -z "$m_binary" ]; then
		if [ -f "$manifest" ]; then
			die "$manifest does not record an install: left it alone"
		fi
		say "nothing to uninstall: install.sh has no record of an install ($manifest does not exist)"
		if [ -e "$dest" ] || [ -L "$dest" ]; then
			say "note: $dest exists, but install.sh did not install it: left it alone"
		fi
		return 0
	fi
	if [ -n "$prefix_given" ] && [ "$m_binary" != "$(canonical_file "$dest")" ] && [ "$m_binary" != "$dest" ]; then
		say "nothing to uninstall under $prefix: the recorded install is $m_binary"
		say "to remove that one, run: sh install.sh --uninstall --prefix \"$(dquote "$(dirname -- "$(dirname -- "$m_binary")")")\""
		return 0
	fi

	# What `venvexec setup` added (shims, the PATH line, completions, the
	# man page) goes through the binary's own `setup --uninstall`.
	if is_venvexec "$m_binary" && has_setup "$m_binary"; then
		"$m_binary" setup --uninstall --dir "$m_shims" ||
			die "\`venvexec setup --uninstall\` failed (see above): nothing else removed"
	fi

	# The links first, while the binary they point at is still there to be
	# recognised. Every link to our binary goes, not only the recorded ones:
	# after the binary is gone, they would all dangle.
	removed=''
	ours=''
	[ -z "$m_shims" ] || ours=$(links_in "$m_shims" "$m_binary")
	while IFS= read -r n; do
		[ -n "$n" ] || continue
		rm -f -- "$m_shims/$n" || die "cannot remove $m_shims/$n"
		removed="$removed $n"
	done <<EOF
$ours
EOF
	if [ -n "$removed" ]; then
		say "removed shims from $m_shims:$removed"
	fi

	if [ -e "$m_binary" ] || [ -L "$m_binary" ]; then
		if is_venvexec "$m_binary"; then
			rm -f -- "$m_binary" || die "cannot remove $m_binary"
			say "removed $m_binary"
		else
			warn "$m_binary is no longer a venvexec binary: left it alone"
		fi
	else
		say "$m_binary was already gone"
	fi

	rm -f -- "$manifest" || die "cannot remove $manifest"
	# Only empty directories go, and only the shims and manifest
	# directories or ones an install created: anything left is not ours.
	printf '%s\n%s\n%s' "$m_shims" "$manifest_dir" "$m_dirs" | sort -u -r |
		while IFS= read -r d; do
			if [ -n "$d" ] && [ -d "$d" ] && rmdir -- "$d" 2>/dev/null; then
				say "removed empty $d"
			fi
		done
	if [ -n "$m_shims" ] && [ -d "$m_shims" ]; then
		say "left $m_shims: it holds files that are not venvexec's"
	fi
	say "venvexec is uninstalled."
}

# --- main ----------------------------------------------------------------------

PATH=${PATH:-/usr/local/bin:/usr/bin:/bin}
export PATH
prefix=${PREFIX:-}
prefix_given=${PREFIX:+yes}
binary=''
profile_flag=''
mode=install
while [ $# -gt 0 ]; do
	case $1 in
	--prefix | --binary)
		if [ $# -lt 2 ] || [ -z "$2" ]; then
			usage_error "$1 needs a value"
		fi
		case $1 in
		--prefix) prefix=$2 prefix_given=yes ;;
		*) binary=$2 ;;
		esac
		shift 2
		;;
	--prefix= | --binary=) usage_error "${1%=} needs a value" ;;
	--prefix=?*) prefix=${1#--prefix=} prefix_given=yes && shift ;;
	--binary=?*) binary=${1#--binary=} && shift ;;
	--uninstall) mode=uninstall && shift ;;
	--no-modify-profile) profile_flag=--no-modify-profile && shift ;;
	-h | --help)
		usage
		exit 0
		;;
	*) usage_error "unknown argument: $1" ;;
	esac
done
if [ "$mode" = uninstall ] && [ -n "$binary" ]; then
	usage_error "--binary is for installing; --uninstall needs no binary"
fi

if [ -z "$prefix" ]; then
	[ -n "${HOME:-}" ] || die "HOME is not set: pass --prefix DIR"
	prefix=$HOME/.local
fi
prefix=$(absolute "$prefix")
case $prefix$binary in
*"$nl"*) die "paths with a newline in them are not supported" ;;
esac
bindir=$prefix/bin
dest=$bindir/venvexec

# Where the manifest lives: the data directory that venvexec itself uses
# (an XDG_DATA_HOME that is not absolute is ignored, as the XDG spec says).
case ${XDG_DATA_HOME:-} in
/*) data_dir=$XDG_DATA_HOME ;;
*)
	[ -n "${HOME:-}" ] || die "HOME is not set: cannot tell where to keep the install manifest"
	data_dir=$HOME/.local/share
	;;
esac
manifest_dir=$data_dir/venvexec
manifest=$manifest_dir/install-manifest

here=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd -P)

probe_dir='' tmp_bin='' tmp_manifest=''
cleanup() {
	[ -z "$tmp_bin" ] || rm -f -- "$tmp_bin"
	[ -z "$tmp_manifest" ] || rm -f -- "$tmp_manifest"
	if [ -n "$probe_dir" ]; then
		rm -f -- "$probe_dir/venvexec" "$probe_dir/install-manifest"
		rmdir -- "$probe_dir" 2>/dev/null || true
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

case $mode in
install) do_install ;;
uninstall) do_uninstall ;;
esac
