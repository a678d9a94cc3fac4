#pragma once
/// tccp-config: resolve, list, validate and scaffold tccp.yaml; print the
/// cluster profile.
///
///   tccp-config [-C DIR] [show] [--show-origin]          a `project` envelope
///   tccp-config [-C DIR] resolve [JOB] [--show-origin]   a `job` envelope
///   tccp-config [-C DIR] jobs                            a `jobs` envelope
///   tccp-config [-C DIR] validate                        exit 0, or 3 with the problem
///   tccp-config [-C DIR] init                            a `scaffold` envelope
///   tccp-config cluster                                  a `cluster` envelope

namespace tccp::tools {

/// The main of tccp-config.
int config_main(int argc, char** argv);

} // namespace tccp::tools
