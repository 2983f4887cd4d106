file(REMOVE_RECURSE
  "CMakeFiles/suara_handlers.dir/handler.c.o"
  "CMakeFiles/suara_handlers.dir/handler.c.o.d"
  "libsuara_handlers.a"
  "libsuara_handlers.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/suara_handlers.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
