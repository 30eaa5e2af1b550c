#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Defines, enables, disables and removes one kprobe_events probe in a loop while /tmp/churn
# (freeque-churn.c) removes SysV queues on CPU 1; gpid is unloaded first. $1 is the probe,
# e.g. 'r:gpidtest freeque' (a kretprobe), 'p:gpidtest freeque' (a kprobe on the ftrace
# site) or 'p:gpidtest freeque+9' (an int3 kprobe inside the function). In the guest:
#   scripts/vm run --add churn --add tools/testing/kernel-issues/kprobe-events-cycle.sh \
#       -- /bin/sh /tmp/kprobe-events-cycle.sh 'r:gpidtest freeque'
mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null
T=/sys/kernel/tracing
rmmod gpid 2>/dev/null
/tmp/churn 40 1 &
C=$!
i=0
while kill -0 $C 2>/dev/null; do
	echo "$1" > $T/kprobe_events || { echo "cannot define $1"; break; }
	echo 1 > $T/events/kprobes/gpidtest/enable
	echo 0 > $T/events/kprobes/gpidtest/enable
	echo '-:gpidtest' >> $T/kprobe_events
	i=$((i+1))
done
echo "cycles of $1: $i"
grep -c . $T/kprobe_events
