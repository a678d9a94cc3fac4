# Concatenates PARTS_DIR/*.sh (sorted) into OUT and writes HEADER with the script as a raw
# string literal and its SHA-256 (the helper is versioned by content).
file(GLOB PARTS ${PARTS_DIR}/*.sh)
list(SORT PARTS)
set(script "")
foreach(part ${PARTS})
  file(READ ${part} text)
  string(APPEND script "${text}")
endforeach()
file(WRITE ${OUT} "${script}")
file(CHMOD ${OUT} PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE
     GROUP_READ GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)
string(SHA256 digest "${script}")
string(SUBSTRING ${digest} 0 16 short)
string(LENGTH "${script}" len)
# Raw string literals are limited in length by some compilers; split in chunks.
set(chunks "")
set(pos 0)
while(pos LESS len)
  string(SUBSTRING "${script}" ${pos} 8000 piece)
  string(APPEND chunks "R\"tccp_sh(${piece})tccp_sh\"\n")
  math(EXPR pos "${pos} + 8000")
endwhile()
file(WRITE ${HEADER} "// Generated from remote/parts/*.sh; do not edit.
#pragma once
#include <string_view>
namespace tccp::generated {
inline constexpr std::string_view remote_helper_script =
${chunks};
inline constexpr std::string_view remote_helper_hash = \"${short}\";
} // namespace tccp::generated
")
