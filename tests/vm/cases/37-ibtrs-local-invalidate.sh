#!/bin/bash
# Case 30 with ibtrs-client remote_invalidate=N (the default, set explicitly) against ibtrs-server
# always_invalidate=0: READs do not ask for remote invalidation, so the
# server answers with a WRITE_WITH_IMM only and the client invalidates each
# READ's MR with a LOCAL_INV before the buffer goes back to the user. Every
# content check must pass (an MR reused while still registered, or reused
# before its LOCAL_INV completed, would corrupt or fail IO), and the server
# must put (almost) no SEND on the wire — the packet this mode saves.
# timeout: 900
set -euo pipefail
IBTRS_SRV_PARAMS="always_invalidate=0" IBTRS_CLT_PARAMS="remote_invalidate=N" \
	IBTRS_EXPECT_SERVER_SENDS=none IBTRS_TEST_IOS=${IBTRS_TEST_IOS:-10000} \
	exec bash "$(dirname "${BASH_SOURCE[0]}")/30-ibtrs-io.sh"
