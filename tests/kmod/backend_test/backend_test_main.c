// SPDX-License-Identifier: GPL-2.0
/*
 * kcxx_backend_test: the IBNBD server's storage backend (kx/bdev.h over
 * shim/bdev.c) against a real block device and a regular file. Loading it
 * runs the checks; each prints "kcxx_backend_test: PASS <item>" or
 * "FAIL <item>: why", then a summary line; the "failed" parameter holds the
 * failure count (tests/vm/cases/13-backend.sh). Paths are relative to root,
 * as an RNBD client's device_path is relative to dev_search_path.
 */
#include <linux/module.h>
#include <linux/moduleparam.h>

int kx_backend_test_run(const char *root, const char *dev, const char *file, const char *file2,
			const char *escape, const char *dir, const char *link, const char *nodev);
long kx_runtime_exit(void);

static int failed = -1;
module_param(failed, int, 0444);
MODULE_PARM_DESC(failed, "number of failed items (-1 until run)");

static char *root = "/tmp/kbt";
module_param(root, charp, 0444);
MODULE_PARM_DESC(root, "directory the backing stores must resolve beneath");
static char *dev = "nullb0";
module_param(dev, charp, 0444);
MODULE_PARM_DESC(dev, "block device node under root (memory-backed null_blk)");
static char *file = "disk.img";
module_param(file, charp, 0444);
MODULE_PARM_DESC(file, "regular file under root");
static char *file2 = "";
module_param(file2, charp, 0444);
MODULE_PARM_DESC(file2, "regular file under root on a file system with O_DIRECT (empty: skip)");
static char *escape = "escape";
module_param(escape, charp, 0444);
MODULE_PARM_DESC(escape, "symlink under root pointing outside it");
static char *dir = "subdir";
module_param(dir, charp, 0444);
MODULE_PARM_DESC(dir, "directory under root");
static char *link = "inner";
module_param(link, charp, 0444);
MODULE_PARM_DESC(link, "symlink under root pointing at the file (inside root)");

static char *nodev = "";
module_param(nodev, charp, 0444);
MODULE_PARM_DESC(nodev, "block device node under root on a nodev mount (empty: skip)");

static int __init kcxx_backend_test_init(void)
{
	failed = kx_backend_test_run(root, dev, file, file2, escape, dir, link, nodev);
	return 0;
}

static void __exit kcxx_backend_test_exit(void)
{
	kx_runtime_exit();
}

module_init(kcxx_backend_test_init);
module_exit(kcxx_backend_test_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("kcxx storage backend (IBNBD server) test");
