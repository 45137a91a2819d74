#!/bin/bash
# Negative test of the allocation accounting: kcxx_leak allocates 3 objects
# through the C++ runtime and frees none. Its unload must print the kcxx-leak
# line with the exact count, and the runner's dmesg scanner must catch it
# (this case passes only because that line is declared expected below).
# timeout: 60
# expect-dmesg: \] kcxx_leak: kcxx-leak: 3 allocations still live at module exit
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

load_ko "$KCXX_ROOT/tests/kmod/leak/kcxx_leak.ko" count=3
unload_ko kcxx_leak
dmesg | grep -q "\] kcxx_leak: kcxx-leak: 3 allocations still live at module exit" ||
	die "the leaking module's unload did not report its 3 live allocations"
