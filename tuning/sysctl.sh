#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Host settings that a many-connection proxy needs, checked or applied.
#   tuning/sysctl.sh check   report each setting against its recommendation
#                            (exit 1 if any is below it)
#   tuning/sysctl.sh apply   raise what is below the recommendation (root)
# Nothing is ever lowered. Settings are runtime only: persist them in
# /etc/sysctl.d/ yourself once you are happy with them.
set -euo pipefail

# name  recommended-minimum  why
settings=(
	"net.core.somaxconn 65535 accept backlog ceiling (--backlog is clamped to it)"
	"net.ipv4.tcp_max_syn_backlog 65535 half-open connections per listener"
	"net.core.netdev_max_backlog 16384 packets queued per CPU before the stack"
	"fs.file-max 2097152 system-wide open files"
	"fs.nr_open 2097152 per-process fd ceiling (ulimit -n cannot exceed it)"
	"fs.pipe-user-pages-soft 262144 pipe pages per user; splice tunnels take 2 pipes each"
	"net.ipv4.tcp_tw_reuse 1 reuse TIME_WAIT ports for new backend connections"
	"vm.max_map_count 262144 mappings (io_uring rings and buffer rings)"
)
ports_want="1024 65535"

mode=${1:-check}
case "$mode" in check | apply) ;; *)
	echo "usage: $0 check|apply" >&2
	exit 2
	;;
esac
if [ "$mode" = apply ] && [ "$(id -u)" -ne 0 ]; then
	echo "apply needs root" >&2
	exit 1
fi

low=0
for s in "${settings[@]}"; do
	read -r name want why <<<"$s"
	path=/proc/sys/${name//.//}
	if [ ! -r "$path" ]; then
		printf '%-32s %12s  (not on this kernel)\n' "$name" "-"
		continue
	fi
	have=$(cat "$path")
	if [ "$have" -ge "$want" ] 2>/dev/null; then
		printf '%-32s %12s  ok       %s\n' "$name" "$have" "$why"
	elif [ "$mode" = apply ]; then
		echo "$want" >"$path"
		printf '%-32s %12s  raised from %s: %s\n' "$name" "$want" "$have" "$why"
	else
		printf '%-32s %12s  LOW (>= %s) %s\n' "$name" "$have" "$want" "$why"
		low=1
	fi
done

read -r lo hi </proc/sys/net/ipv4/ip_local_port_range
if [ "$((hi - lo))" -lt 50000 ]; then
	if [ "$mode" = apply ]; then
		echo "$ports_want" >/proc/sys/net/ipv4/ip_local_port_range
		printf '%-32s %12s  raised from %s-%s\n' net.ipv4.ip_local_port_range \
			"${ports_want/ /-}" "$lo" "$hi"
	else
		printf '%-32s %12s  LOW (want %s): ports for backend connections\n' \
			net.ipv4.ip_local_port_range "$lo-$hi" "${ports_want/ /-}"
		low=1
	fi
else
	printf '%-32s %12s  ok\n' net.ipv4.ip_local_port_range "$lo-$hi"
fi

soft=$(ulimit -n)
printf '%-32s %12s  %s\n' "ulimit -n (this shell)" "$soft" \
	"$([ "$soft" -ge 65536 ] && echo ok || echo 'LOW: raise LimitNOFILE / ulimit -n for ringproxy')"
[ "$mode" = check ] && exit "$low"
exit 0
