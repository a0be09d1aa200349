# Warnings for the project's own targets. Never added to INTERFACE properties, so consumers of
# the installed package are not affected by our warning policy.
function(referkit_set_warnings target)
  if(MSVC)
    target_compile_options(${target} PRIVATE /W4 $<$<BOOL:${REFERKIT_WARNINGS_AS_ERRORS}>:/WX>)
  else()
    target_compile_options(${target} PRIVATE
      -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion -Wold-style-cast
      -Wnon-virtual-dtor -Woverloaded-virtual -Wimplicit-fallthrough
      $<$<BOOL:${REFERKIT_WARNINGS_AS_ERRORS}>:-Werror>)
  endif()
endfunction()
