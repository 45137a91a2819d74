/* SPDX-License-Identifier: GPL-2.0 */
// The whole kernel C++ library in one include, for unity translation units.
#pragma once

#include <kx/atomic.h>
#include <kx/errno.h>
#include <kx/list.h>
#include <kx/log.h>
#include <kx/new.h>
#include <kx/own.h>
#include <kx/percpu.h>
#include <kx/ref.h>
#include <kx/result.h>
#include <kx/runtime.h>
#include <kx/sync.h>
#include <kx/tags.h>
#include <kx/types.h>
#include <kx/work.h>
