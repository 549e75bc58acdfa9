// SPDX-License-Identifier: Apache-2.0
//
// The disk floor: what one durable write costs on this machine with nothing of rlog in the way.
// `measure_disk_floor` loops an io_uring submission of a 4 KiB write linked to an fdatasync
// (IOSQE_IO_LINK, IORING_FSYNC_DATASYNC) on a scratch file in `dir` whose 1 MiB region was
// written and synced beforehand (so each iteration is a plain overwrite), the same pattern the
// storage module uses for one group commit, and returns each iteration's latency (submit to sync
// completion) in nanoseconds. The file stays linked while measured: on this machine's ext4
// fdatasync of an unlinked file cost about 4 ms against about 0.2 ms for a linked one. `rlog bench`
// prints it next to its own commit latencies. Threading: call from any one thread; it owns its ring
// and file. The scratch file is removed before returning. Errors: kIo (ring setup, write or sync
// failed, with errno), kInvalidArgument (iterations < 1).

#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace rlog::bench {

Result<std::vector<uint64_t>> measure_disk_floor(const std::string& dir, int iterations);

}  // namespace rlog::bench
