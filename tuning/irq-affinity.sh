#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# Spread a NIC's receive queues over the CPUs that run reactors, one queue's
# IRQ per CPU, so that a connection's packets, its RSS queue and the reactor
# that accepted it (SO_REUSEPORT) share a core.
#   tuning/irq-affinity.sh check IFACE CPULIST   show where each IRQ of IFACE goes
#   tuning/irq-affinity.sh apply IFACE CPULIST   pin them round robin over CPULIST (root)
# Stop irqbalance first, or it will move them back.
set -euo pipefail

usage() {
	echo "usage: $0 check|apply IFACE CPULIST (e.g. eth0 0-3)" >&2
	exit 2
}
[ $# -eq 3 ] || usage
mode=$1 iface=$2 list=$3
case "$mode" in check | apply) ;; *) usage ;; esac

expand() { # "0-3,6" -> "0 1 2 3 6"
	local part out=()
	IFS=, read -ra parts <<<"$1"
	for part in "${parts[@]}"; do
		if [[ $part =~ ^([0-9]+)-([0-9]+)$ ]]; then
			out+=($(seq "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"))
		elif [[ $part =~ ^[0-9]+$ ]]; then
			out+=("$part")
		else
			echo "bad CPU list: $1" >&2
			exit 2
		fi
	done
	echo "${out[@]}"
}
cpus=($(expand "$list"))

[ -d "/sys/class/net/$iface" ] || {
	echo "no interface $iface" >&2
	exit 1
}
irqs=$(awk -v ifc="$iface" '$0 ~ ifc { sub(":", "", $1); print $1 }' /proc/interrupts)
if [ -z "$irqs" ]; then
	echo "$iface has no IRQs of its own in /proc/interrupts (virtual or loopback device)"
	exit 0
fi
if pgrep -x irqbalance >/dev/null; then
	echo "warning: irqbalance is running and will undo this" >&2
fi
i=0
for irq in $irqs; do
	cpu=${cpus[$((i % ${#cpus[@]}))]}
	cur=$(cat "/proc/irq/$irq/smp_affinity_list")
	if [ "$mode" = apply ]; then
		echo "$cpu" >"/proc/irq/$irq/smp_affinity_list"
		echo "irq $irq -> cpu $cpu (was $cur)"
	else
		echo "irq $irq on cpus $cur (apply would pin it to $cpu)"
	fi
	i=$((i + 1))
done
