#pragma once
/// The value syntaxes of tccp.yaml: SLURM time limits, memory sizes, GPU
/// types, ports. Parsers return nullopt on bad input; the loader turns that
/// into a located error message.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tccp::config {

/// A SLURM time limit in seconds: `MM`, `MM:SS`, `HH:MM:SS`, `D-HH`,
/// `D-HH:MM`, `D-HH:MM:SS` (a plain number is minutes, as in SLURM).
/// nullopt when malformed or zero.
std::optional<long long> parse_time_limit_s(std::string_view text);

/// Seconds as a SLURM time: "1:00:00", "8:00:00", "2-00:00:00".
std::string format_time_limit(long long seconds);

/// A memory size in MB: a whole number with an optional K, M, G or T suffix
/// (either case, an optional trailing B); a plain number is MB, as in SLURM.
/// K rounds up to whole MB. nullopt when malformed or zero.
std::optional<long long> parse_memory_mb(std::string_view text);

/// MB as people write it: "4G" when a whole number of GB, else "1500M".
std::string format_memory(long long mb);

/// A duration for timeouts in seconds: a whole number of seconds, or a
/// number with an s, m, h or d suffix ("30m"), or a SLURM time with a colon.
std::optional<long long> parse_duration_s(std::string_view text);

/// A whole number (optional leading '-'); nullopt for anything else.
std::optional<long long> parse_integer(std::string_view text);

/// The GPU types of the guide's table, least to most powerful, plus the
/// family name `a100` its examples use.
const std::vector<std::string>& known_gpu_types();

/// True for the 80 GB cards (a100-80gb, h100): memory bumps to 64G.
bool is_80gb_gpu(std::string_view type);

/// The guide's defaults: python -> python:3.11-slim, python-pytorch ->
/// pytorch/pytorch:2.6.0-cuda12.4-cudnn9-runtime.
const std::vector<std::pair<std::string, std::string>>& default_images();

/// The environment types (`type:`): python, python-pytorch.
const std::vector<std::string>& env_types();

} // namespace tccp::config
