#pragma once
/// tccp-connect: the one authenticated SSH connection per cluster.
///
///   tccp-connect start [--foreground]   authenticate once, then serve every tool
///   tccp-connect status                 the `connection` envelope
///   tccp-connect stop
///   tccp-connect exec CMD...            run on the login node (exit status passes through)
///   tccp-connect shell                  interactive login shell (pty)
///   tccp-connect ssh NODE [CMD...]      pty session on a compute node, via the login host
///   tccp-connect forward HOST PORT      stdin/stdout <-> HOST:PORT as seen from the cluster
///   tccp-connect setup                  record the cluster profile, host key, credentials

namespace tccp::tools {

/// The tool's main (cmd/tccp-connect/main.cpp calls it).
int connect_main(int argc, char** argv);

} // namespace tccp::tools
