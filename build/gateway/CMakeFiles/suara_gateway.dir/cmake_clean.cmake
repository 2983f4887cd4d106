file(REMOVE_RECURSE
  "CMakeFiles/suara_gateway.dir/metrics.c.o"
  "CMakeFiles/suara_gateway.dir/metrics.c.o.d"
  "libsuara_gateway.a"
  "libsuara_gateway.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/suara_gateway.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
