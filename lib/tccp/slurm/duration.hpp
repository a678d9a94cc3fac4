#pragma once
/// SLURM's time and memory notations: "1-02:03:04", "15:00", "UNLIMITED",
/// "4G", "500M".
#include <optional>
#include <string>
#include <string_view>

namespace tccp::slurm {

/// A time value as SLURM prints it: seconds, unlimited, or unknown.
struct Duration {
  enum class Kind { seconds, unlimited, unknown };
  Kind kind = Kind::unknown;
  long long seconds = 0; ///< meaningful when kind == seconds

  static Duration of(long long s) { return Duration{Kind::seconds, s}; }
  static Duration unlimited() { return Duration{Kind::unlimited, 0}; }
  static Duration unknown() { return Duration{}; }

  bool known() const { return kind != Kind::unknown; }
  /// True when this is at least `s` seconds (unlimited covers everything,
  /// unknown covers nothing).
  bool covers(long long s) const {
    return kind == Kind::unlimited || (kind == Kind::seconds && seconds >= s);
  }
  /// Seconds, or nullopt when unlimited or unknown (JSON null).
  std::optional<long long> as_optional() const {
    return kind == Kind::seconds ? std::optional<long long>(seconds) : std::nullopt;
  }
};

/// Parses squeue/sacct times: "[D-]HH:MM:SS", "MM:SS", "M" (minutes, as in
/// sbatch --time), "UNLIMITED", "INFINITE"; "INVALID", "N/A", "NOT_SET" and
/// anything malformed are unknown. "0:00" is zero seconds.
Duration parse_duration(std::string_view text);

/// Formats seconds for sbatch/srun --time: "HH:MM:SS", or "D-HH:MM:SS" from
/// one day on. SLURM counts whole minutes, so seconds are rounded up to the
/// next minute (a 30 s limit becomes "00:01:00").
std::string format_time_limit(long long seconds);

/// Parses a SLURM memory size ("4G", "500M", "16000" = MB, "1.5T", "4000K")
/// into MB, rounding up; nullopt for "N/A", "0" is 0.
std::optional<long long> parse_memory_mb(std::string_view text);

/// Parses an RFC 3339 / SLURM timestamp ("2026-12-03T12:57:43", with an
/// optional trailing "Z") as UTC seconds since the epoch; nullopt for "N/A",
/// "Unknown", "None" and malformed text. SLURM prints local time; tccp runs
/// its cluster helpers with TZ=UTC so the two agree.
std::optional<long long> parse_timestamp(std::string_view text);

/// Seconds since the epoch as RFC 3339 UTC ("2026-12-03T12:57:43Z").
std::string format_timestamp(long long epoch_seconds);

} // namespace tccp::slurm
