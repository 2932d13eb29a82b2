# The musl root's app.py: the same modes as app.py, in busybox sh, run by
# the stand-in interpreter of fake-python (no CPython is built for musl in
# Debian). Installed in that root as /app/app.py.

others() {
	# Every process here but PID 1 and this shell: `left` and `zombies`.
	left=0 zombies=0
	for f in /proc/[0-9]*/stat; do
		read -r stat <"$f" 2>/dev/null || continue
		set -- $stat
		case $1 in 1 | $$) continue ;; esac
		left=$((left + 1))
		[ "$3" = Z ] && zombies=$((zombies + 1))
	done
}

case ${1:-where} in
where)
	echo "prefix=$FAKE_PYTHON_PREFIX executable=$FAKE_PYTHON_EXECUTABLE probe=none" \
		"virtual_env=${VIRTUAL_ENV:-unset} pid=$$ ppid=$PPID uid=$(id -u)" \
		"home=${HOME:-unset}"
	;;
exit) exit "$2" ;;
wait)
	echo ready
	exec sleep 60
	;;
orphans)
	for i in 1 2 3; do
		# The inner subshell's parent exits at once: it is handed to PID 1.
		( (
			sleep 0.3
			read -r stat </proc/self/stat
			set -- $stat
			echo "orphan ppid=$4"
		) &)
	done
	i=0
	while sleep 0.1; do
		others
		[ "$left" = 0 ] && echo zombies=0 && exit 0
		i=$((i + 1))
		[ "$i" -gt 50 ] && echo "zombies=$zombies left=$left" && exit 1
	done
	;;
*)
	echo "app.py: unknown mode $1" >&2
	exit 2
	;;
esac
