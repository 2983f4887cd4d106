# CMake generated Testfile for 
# Source directory: /work/main/tests
# Build directory: /work/main/build/tests
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
add_test(redis_start "/work/main/tests/support/redis_fixture.sh" "start" "/work/main/build/test-redis")
set_tests_properties(redis_start PROPERTIES  FIXTURES_SETUP "redis" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;28;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test(redis_stop "/work/main/tests/support/redis_fixture.sh" "stop" "/work/main/build/test-redis")
set_tests_properties(redis_stop PROPERTIES  FIXTURES_CLEANUP "redis" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;29;add_test;/work/main/tests/CMakeLists.txt;0;")
subdirs("common")
subdirs("handlers")
subdirs("dialogs")
subdirs("store")
subdirs("gateway")
subdirs("integration")
