/* SPDX-License-Identifier: GPL-2.0 */
/* The user header both halves of the IBTRS test agree on. */
#ifndef IBTRS_TEST_H
#define IBTRS_TEST_H

#include <linux/types.h>

#define IBTRS_TEST_MAGIC 0x1b75e571u

struct ibtrs_test_hdr {
	__le32 magic;
	__le32 len;    /* bytes of data */
	__le64 offset; /* into the server's RAM buffer */
	__le32 seq;
	__le32 reserved;
};

#endif
