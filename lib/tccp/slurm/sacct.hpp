#pragma once
/// sacct: finished jobs that squeue no longer shows (after MinJobAge).
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tccp/slurm/state.hpp"

namespace tccp::slurm {

/// One line of `sacct -P -n -o <sacct_format>`.
struct SacctRecord {
  std::string job_id; ///< "4" or "4.0" / "4.batch" for steps
  JobState state = JobState::other;
  std::string state_text; ///< as printed, e.g. "CANCELLED by 1001"
  int exit_code = 0;      ///< the part before ':' of ExitCode
  int signal = 0;         ///< the part after ':'
  std::optional<long long> start_time;
  std::optional<long long> end_time;
  std::string node;
};

inline constexpr std::string_view sacct_format = "JobID,State,ExitCode,Start,End,NodeList";

/// Parses one line; nullopt for headers and malformed lines.
std::optional<SacctRecord> parse_sacct_line(std::string_view line);

std::vector<SacctRecord> parse_sacct(std::string_view output);

} // namespace tccp::slurm
