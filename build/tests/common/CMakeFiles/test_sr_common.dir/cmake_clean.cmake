file(REMOVE_RECURSE
  "CMakeFiles/test_sr_common.dir/test_sr_common.c.o"
  "CMakeFiles/test_sr_common.dir/test_sr_common.c.o.d"
  "test_sr_common"
  "test_sr_common.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_sr_common.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
