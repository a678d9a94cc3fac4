#pragma once
/// The cluster profile: the `cluster:` section of ~/.tccp/config.yaml.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tccp/proto/envelope.hpp"

namespace tccp::config {

/// How to reach and use one cluster. Every field has a default so that a
/// profile naming only `host` works.
struct ClusterProfile {
  std::string name = "default";              ///< profile name (for messages, state dirs)
  std::string host;                          ///< hostname, address or ~/.ssh/config alias
  std::optional<int> port;                   ///< nullopt: ~/.ssh/config or 22
  std::optional<std::string> user;           ///< nullopt: ~/.ssh/config or the local user
  std::vector<std::string> identity_files;   ///< extra key files to try
  std::optional<std::string> known_hosts;    ///< an extra known_hosts file
  std::optional<std::string> askpass;        ///< program answering prompts without a terminal
  std::optional<std::string> proxy_jump;     ///< overrides ~/.ssh/config ProxyJump
  std::string remote_root = "~/.tccp";       ///< tccp's root on the cluster (e.g. scratch)
  std::string default_partition;             ///< empty: the cluster's default partition
  std::string gpu_partition = "gpu";         ///< partition chosen when a GPU is asked
  std::string runtime = "none";              ///< none | podman | apptainer | singularity
  std::map<std::string, std::string> images; ///< env type -> container image
  std::vector<std::string> modules;          ///< `module load` before the runtime
  bool system_site_packages = false;         ///< venvs see the base Python's packages
  std::optional<std::string> pip_index;      ///< PIP_INDEX_URL for requirements
  std::string python = "python3";            ///< the base Python on compute nodes
  long long alloc_idle_timeout_s = 1800;     ///< a holder with no run exits after this
  long long connect_idle_timeout_s = 3600;   ///< tccp-connect exits after this idle
  std::vector<std::string> gpu_types;        ///< GPU types added to the guide's table
};

/// The profile of $TCCP_HOME/config.yaml (~/.tccp/config.yaml): its
/// `cluster:` map over the defaults above, `images` merged over the guide's
/// defaults (python:3.11-slim, pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime).
/// A missing file gives the defaults. Throws Error(config) with
/// `FILE:LINE:COL: cluster.FIELD: ...` on bad input.
ClusterProfile load_cluster_profile();

/// The profile as JSON with the same field names (timeouts as
/// alloc_idle_timeout_s, connect_idle_timeout_s; null for unset optionals
/// and for an empty host or default_partition).
proto::Json cluster_to_json(const ClusterProfile& profile);

/// Reads cluster_to_json() back; missing fields keep their defaults.
/// Throws Error(protocol) on a mistyped field.
ClusterProfile cluster_from_json(const proto::Json& json);

} // namespace tccp::config
