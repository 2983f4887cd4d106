# CMake generated Testfile for 
# Source directory: /work/main/tests/common
# Build directory: /work/main/build/tests/common
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
add_test(test_sr_common "/work/main/build/tests/common/test_sr_common")
set_tests_properties(test_sr_common PROPERTIES  ENVIRONMENT "SUARA_TEST_REDIS_SOCKET=/work/main/build/test-redis/redis.sock;" TIMEOUT "300" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;12;add_test;/work/main/tests/common/CMakeLists.txt;1;suara_add_test;/work/main/tests/common/CMakeLists.txt;0;")
