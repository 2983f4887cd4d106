store/CMakeFiles/suara_evalstore.dir/writer.c.o: \
 /work/main/store/writer.c /usr/include/stdc-predef.h
