# SPDX-License-Identifier: GPL-2.0
#
# gpid: the two commands a newcomer needs are `make demo` and `make check` (see README.md).
# Everything installs and builds what it needs on first use.
#
#   make demo                boot the guest, load gpid, show what it does
#   make check               host tests, then the selftests in the guest
#   make check KERNEL=debug  the same on the KASAN + lockdep + kmemleak kernel
#   make bench               benchmarks in the guest, ratios against the stock kernel
#                            (ARGS='--only msq': one table)
#   make module              build gpid.ko only (against the cached kernel)
#   make shell               an interactive guest with gpid loaded

KERNEL ?= normal
export KERNEL

all: module

module:
	scripts/build $(KERNEL) >/dev/null

host-test:
	scripts/check --host-only

check:
	scripts/check

demo:
	scripts/vm run --kernel $(KERNEL) -- /usr/bin/gpid-demo

bench:
	scripts/bench $(ARGS)

shell:
	scripts/vm shell --kernel $(KERNEL)

clean:
	rm -rf out tools/target rust/gpid_core/target
	[ ! -e out/$(KERNEL)/kdir ] || $(MAKE) -C out/$(KERNEL)/kdir M=$(CURDIR) clean

.PHONY: all module host-test check demo bench shell clean
