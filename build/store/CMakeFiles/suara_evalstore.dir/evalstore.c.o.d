store/CMakeFiles/suara_evalstore.dir/evalstore.c.o: \
 /work/main/store/evalstore.c /usr/include/stdc-predef.h
