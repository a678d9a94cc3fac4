#pragma once
/// String helpers with no knowledge of tccp.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tccp::util {

std::vector<std::string> split(std::string_view text, char sep);
std::string join(const std::vector<std::string>& parts, std::string_view sep);
std::string trim(std::string_view text);
bool starts_with(std::string_view text, std::string_view prefix);
bool ends_with(std::string_view text, std::string_view suffix);
std::string to_lower(std::string_view text);

/// Quotes one word for a POSIX shell: the result is safe to paste into any
/// sh command line and evaluates to exactly `word` (spaces, quotes, `$`,
/// newlines). This is the ONE function every remote argument goes through.
std::string shell_quote(std::string_view word);

/// Quotes each word and joins them with spaces.
std::string shell_join(const std::vector<std::string>& words);

/// Splits a command line the way a POSIX shell splits words, with single
/// and double quotes and backslash escapes, but no expansion. Throws
/// std::invalid_argument on an unterminated quote.
std::vector<std::string> shell_split(std::string_view line);

/// Edit distance where inserting, deleting or replacing a character, or
/// swapping two neighbours, is one edit (optimal string alignment).
std::size_t edit_distance(std::string_view a, std::string_view b);

/// The candidate closest to `word` when it is a plausible typo (git's rule of
/// thumb: distance at most max(1, len/3)); nullopt otherwise.
std::optional<std::string> did_you_mean(std::string_view word,
                                        const std::vector<std::string>& candidates);

/// Lower-case hex of bytes.
std::string hex(std::string_view bytes);

} // namespace tccp::util
