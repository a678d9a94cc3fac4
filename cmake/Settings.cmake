# Compiler settings shared by every target, as an interface target.
option(TCCP_WERROR "Treat warnings as errors" OFF)

add_library(tccp_settings INTERFACE)
target_compile_options(tccp_settings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
  -Wcast-align -Woverloaded-virtual -Wimplicit-fallthrough
  -Wno-missing-field-initializers)
if(TCCP_WERROR)
  target_compile_options(tccp_settings INTERFACE -Werror)
endif()
target_compile_definitions(tccp_settings INTERFACE
  TCCP_VERSION="${PROJECT_VERSION}")
