#!/bin/bash
# Negative test of the runner's dmesg scanner: a fake leak report must be
# caught. The runner passes this case only because the line below is expected;
# without the expect-dmesg tag the same case would FAIL ("bad dmesg").
# timeout: 30
# expect-dmesg: kcxx-leak:
set -euo pipefail
echo "<4>kcxx_fake: kcxx-leak: 3 allocations still live at module exit" >/dev/kmsg
