file(REMOVE_RECURSE
  "CMakeFiles/suara_common.dir/sr_error.c.o"
  "CMakeFiles/suara_common.dir/sr_error.c.o.d"
  "CMakeFiles/suara_common.dir/sr_log.c.o"
  "CMakeFiles/suara_common.dir/sr_log.c.o.d"
  "CMakeFiles/suara_common.dir/sr_mem.c.o"
  "CMakeFiles/suara_common.dir/sr_mem.c.o.d"
  "CMakeFiles/suara_common.dir/sr_types.c.o"
  "CMakeFiles/suara_common.dir/sr_types.c.o.d"
  "libsuara_common.a"
  "libsuara_common.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/suara_common.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
