#include "tccp/slurm/sacct.hpp"

#include <charconv>

#include "tccp/slurm/duration.hpp"
#include "tccp/util/strings.hpp"

namespace tccp::slurm {

std::optional<SacctRecord> parse_sacct_line(std::string_view line) {
  auto f = util::split(util::trim(line), '|');
  if (f.size() < 6 || f[0].empty() || f[0] == "JobID" ||
      f[0].find_first_not_of("0123456789") == 0) {
    return std::nullopt;
  }
  SacctRecord r;
  r.job_id = f[0];
  r.state_text = f[1];
  r.state = parse_job_state(f[1]);
  auto colon = f[2].find(':');
  std::string_view code = std::string_view(f[2]).substr(0, colon);
  std::from_chars(code.data(), code.data() + code.size(), r.exit_code);
  if (colon != std::string::npos) {
    std::string_view sig = std::string_view(f[2]).substr(colon + 1);
    std::from_chars(sig.data(), sig.data() + sig.size(), r.signal);
  }
  r.start_time = parse_timestamp(f[3]);
  r.end_time = parse_timestamp(f[4]);
  r.node = f[5];
  return r;
}

std::vector<SacctRecord> parse_sacct(std::string_view output) {
  std::vector<SacctRecord> out;
  for (const auto& line : util::split(output, '\n')) {
    if (auto r = parse_sacct_line(line)) {
      out.push_back(std::move(*r));
    }
  }
  return out;
}

} // namespace tccp::slurm
