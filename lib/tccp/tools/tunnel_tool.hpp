#pragma once
/// tccp-tunnel: forwards a running job's ports to localhost.

namespace tccp::tools {

/// The tool's main: `tccp-tunnel [JOB] [-p PORT]...` listens on
/// 127.0.0.1:PORT for each port the job declares (or -p names) and carries
/// every connection to the same port on the job's compute node through the
/// cluster connection, until the run ends or the user presses Ctrl+C.
int tunnel_main(int argc, char** argv);

} // namespace tccp::tools
