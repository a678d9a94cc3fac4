#pragma once
/// tccp-sync: push the project to the cluster, list what a push considers,
/// pull a run's output back, clean old output, snapshot a run's code.
///
///   tccp-config resolve train | tccp-alloc ensure | tccp-sync push | ...
///
/// With a `job` envelope on stdin the tool takes everything from it (project
/// dir, env file, output, rodata, cluster, allocation, run) and writes it
/// back enriched (`sync` after a push, `pulled` after a pull). Alone, flags
/// say the same things.
#include "tccp/proto/envelope.hpp"
#include "tccp/sync/output.hpp"
#include "tccp/sync/push.hpp"

namespace tccp::tools {

/// Entry point of tccp-sync.
int sync_main(int argc, char** argv);

/// The `sync` object a push adds to the job envelope (docs/sync.md).
proto::Json sync_object(const sync::PushResult& result);

/// The `pulled` object a pull adds to the job envelope (docs/sync.md).
proto::Json pulled_object(const sync::PullResult& result);

} // namespace tccp::tools
