/* SPDX-License-Identifier: GPL-2.0 */
// Server side: who may open a backing device how.
//
// Per backing device the server counts its openers. Any number of read-only
// openers; one writer ("rw"); during a live migration a second writer may
// join with "migration" (the source and destination hosts both write for a
// moment, as upstream allows). rw requires no writer at all; migration
// requires at most one. The counts live with the device, under its lock.
#pragma once

#include <ibnbd/core/proto.h>
#include <kx/result.h>
#include <kx/types.h>

namespace ibnbd {

struct OpenCounts {
  kx::u32 readers = 0;
  kx::u32 writers = 0;

  // Admits one more opener in mode, or -EPERM (the errno upstream returns and
  // the client reports) if the rules forbid it. -EINVAL for an unknown mode.
  kx::Result<void> admit(proto::AccessMode mode) {
    switch (mode) {
      case proto::AccessMode::kRo:
        readers++;
        return kx::ok();
      case proto::AccessMode::kRw:
        if (writers != 0) return kx::Error(-EPERM);
        writers++;
        return kx::ok();
      case proto::AccessMode::kMigration:
        if (writers > 1) return kx::Error(-EPERM);
        writers++;
        return kx::ok();
    }
    return kx::Error(-EINVAL);
  }

  // Releases an opener admitted with mode.
  void release(proto::AccessMode mode) {
    if (mode == proto::AccessMode::kRo) {
      KX_BUG_ON(readers == 0);
      readers--;
    } else {
      KX_BUG_ON(writers == 0);
      writers--;
    }
  }

  bool idle() const { return readers == 0 && writers == 0; }
};

// Whether an IO with op may be executed for an opener in mode: a read-only
// opener can read and flush, nothing that changes the device.
inline bool mode_allows_write(proto::AccessMode mode) { return mode != proto::AccessMode::kRo; }

}  // namespace ibnbd
