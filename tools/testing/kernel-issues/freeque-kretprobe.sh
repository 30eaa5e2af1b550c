#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Reproducer without gpid: arms and disarms a kretprobe on freeque() through the kernel's own
# kprobe_events while /tmp/churn (freeque-churn.c) removes queues on CPU 1. On Debian's 7.3.4
# under QEMU TCG it oopses within seconds (RIP 0 at freeque's entry). Run in the guest:
#   scripts/vm run --add churn --add tools/testing/kernel-issues/freeque-kretprobe.sh \
#       -- /bin/sh /tmp/freeque-kretprobe.sh
# Arms and disarms a kretprobe on freeque through kprobe_events while churn runs on CPU 1.
mount -t tracefs nodev /sys/kernel/tracing 2>/dev/null
T=/sys/kernel/tracing
rmmod gpid 2>/dev/null
/tmp/churn 60 1 &
C=$!
i=0
while kill -0 $C 2>/dev/null; do
	echo 'r:gpidtest freeque' > $T/kprobe_events || { echo "no kprobe_events"; break; }
	echo 1 > $T/events/kprobes/gpidtest/enable
	echo 0 > $T/events/kprobes/gpidtest/enable
	echo '-:gpidtest' >> $T/kprobe_events
	i=$((i+1))
done
echo "arm/disarm cycles: $i"
wait
echo done
