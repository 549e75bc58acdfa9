// SPDX-License-Identifier: Apache-2.0
//
// The backend constructors behind make_transport (udp_transport.cc). Not part of the public
// interface: callers use make_transport with TransportOptions::kind.

#pragma once

#include <memory>

#include "common/status.h"
#include "dataplane/transport.h"

namespace rlog::dataplane {

// af_packet_transport.cc.
Result<std::unique_ptr<Transport>> make_af_packet_transport(const TransportOptions& options);

// dpdk_transport.cc; kNotSupported when the build has no DPDK (RLOG_WITH_DPDK off).
Result<std::unique_ptr<Transport>> make_dpdk_transport(const TransportOptions& options);

}  // namespace rlog::dataplane
