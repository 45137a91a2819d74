// SPDX-License-Identifier: GPL-2.0
#include <linux/module.h>
int bt_body(void);
static int __init bt_init(void) { return bt_body(); }
module_init(bt_init);
MODULE_LICENSE("GPL");
