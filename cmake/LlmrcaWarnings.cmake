# Shared compiler settings: one INTERFACE target that every llmrca target links privately.
add_library(llmrca_warnings INTERFACE)
target_compile_options(llmrca_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast
  $<$<BOOL:${LLMRCA_WERROR}>:-Werror>)

if(LLMRCA_SANITIZE)
  # Sanitizers must be on every object and on the link line, so they are global.
  add_compile_options(-fsanitize=${LLMRCA_SANITIZE} -fno-omit-frame-pointer -fno-sanitize-recover=all)
  add_link_options(-fsanitize=${LLMRCA_SANITIZE})
endif()
