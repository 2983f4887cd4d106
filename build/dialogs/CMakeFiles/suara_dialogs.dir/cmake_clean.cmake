file(REMOVE_RECURSE
  "CMakeFiles/suara_dialogs.dir/dialog.c.o"
  "CMakeFiles/suara_dialogs.dir/dialog.c.o.d"
  "libsuara_dialogs.a"
  "libsuara_dialogs.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/suara_dialogs.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
