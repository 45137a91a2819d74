#!/bin/bash
# Case 30 (every IO size, full queue depth, reads-after-writes with content
# checks, admin connection, close, no leak) against ibtrs-server with
# always_invalidate=0, the mode that is not the default: the chunk pool is
# registered as a few large MRs once per path, answers are zero-byte
# WRITE_WITH_IMMs and no RKEY_RSP is sent. Case 30 runs the default (Y:
# every request's chunk MR is invalidated on arrival and re-registered with
# a new rkey that the answer hands to the client). The client asks for
# remote invalidation (remote_invalidate=Y, not its default): the server
# must send one SEND_WITH_INV per READ. Case 37 runs the client default.
# timeout: 900
set -euo pipefail
IBTRS_SRV_PARAMS="always_invalidate=0" IBTRS_CLT_PARAMS="remote_invalidate=Y" \
	IBTRS_EXPECT_SERVER_SENDS=reads IBTRS_TEST_IOS=${IBTRS_TEST_IOS:-10000} \
	exec bash "$(dirname "${BASH_SOURCE[0]}")/30-ibtrs-io.sh"
