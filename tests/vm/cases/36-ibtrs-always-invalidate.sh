#!/bin/bash
# Case 30 (every IO size, full queue depth, reads-after-writes with content
# checks, admin connection, close, no leak) against ibtrs-server with
# always_invalidate=1: every request's chunk MR is invalidated on arrival and
# registered again with a new rkey that the answer (SEND_WITH_IMM RKEY_RSP)
# hands to the client. Any stale rkey would fail the next request of that
# permit with a remote access error (a path error, which fails the case).
# timeout: 900
set -euo pipefail
IBTRS_SRV_PARAMS="always_invalidate=1" IBTRS_TEST_IOS=${IBTRS_TEST_IOS:-10000} \
	exec bash "$(dirname "${BASH_SOURCE[0]}")/30-ibtrs-io.sh"
