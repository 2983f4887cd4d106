file(REMOVE_RECURSE
  "CMakeFiles/suara_store.dir/store.c.o"
  "CMakeFiles/suara_store.dir/store.c.o.d"
  "libsuara_store.a"
  "libsuara_store.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/suara_store.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
