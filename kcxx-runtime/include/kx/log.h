/* SPDX-License-Identifier: GPL-2.0 */
// Logging. Lines go to printk prefixed with the module name (the shim adds
// it), one line per event. Format strings are printk's (%pI4, %pV ... work).
// Data-path messages must use the _ratelimited forms.
#pragma once

#include <kx/shim.h>

#define kx_err(fmt, ...) kx_log(KX_LOG_ERR, fmt, ##__VA_ARGS__)
#define kx_warn_log(fmt, ...) kx_log(KX_LOG_WARN, fmt, ##__VA_ARGS__)
#define kx_notice(fmt, ...) kx_log(KX_LOG_NOTICE, fmt, ##__VA_ARGS__)
#define kx_info(fmt, ...) kx_log(KX_LOG_INFO, fmt, ##__VA_ARGS__)
#define kx_debug(fmt, ...) kx_log(KX_LOG_DEBUG, fmt, ##__VA_ARGS__)
#define kx_err_rl(fmt, ...) kx_log_ratelimited(KX_LOG_ERR, fmt, ##__VA_ARGS__)
#define kx_warn_rl(fmt, ...) kx_log_ratelimited(KX_LOG_WARN, fmt, ##__VA_ARGS__)
