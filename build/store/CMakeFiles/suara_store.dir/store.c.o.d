store/CMakeFiles/suara_store.dir/store.c.o: /work/main/store/store.c \
 /usr/include/stdc-predef.h
