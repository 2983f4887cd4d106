file(REMOVE_RECURSE
  "CMakeFiles/suara_evalstore.dir/evalstore.c.o"
  "CMakeFiles/suara_evalstore.dir/evalstore.c.o.d"
  "CMakeFiles/suara_evalstore.dir/writer.c.o"
  "CMakeFiles/suara_evalstore.dir/writer.c.o.d"
  "libsuara_evalstore.a"
  "libsuara_evalstore.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/suara_evalstore.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
