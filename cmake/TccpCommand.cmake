# tccp_add_command(NAME) builds cmd/NAME/main.cpp against libtccp.
function(tccp_add_command name)
  add_executable(${name} ${CMAKE_CURRENT_SOURCE_DIR}/${name}/main.cpp)
  target_link_libraries(${name} PRIVATE libtccp tccp_settings)
  set_target_properties(${name} PROPERTIES
    RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/bin)
  install(TARGETS ${name} RUNTIME DESTINATION bin)
endfunction()
