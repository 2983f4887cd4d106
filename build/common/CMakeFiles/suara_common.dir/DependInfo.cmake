
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/common/sr_error.c" "common/CMakeFiles/suara_common.dir/sr_error.c.o" "gcc" "common/CMakeFiles/suara_common.dir/sr_error.c.o.d"
  "/work/main/common/sr_log.c" "common/CMakeFiles/suara_common.dir/sr_log.c.o" "gcc" "common/CMakeFiles/suara_common.dir/sr_log.c.o.d"
  "/work/main/common/sr_mem.c" "common/CMakeFiles/suara_common.dir/sr_mem.c.o" "gcc" "common/CMakeFiles/suara_common.dir/sr_mem.c.o.d"
  "/work/main/common/sr_types.c" "common/CMakeFiles/suara_common.dir/sr_types.c.o" "gcc" "common/CMakeFiles/suara_common.dir/sr_types.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
