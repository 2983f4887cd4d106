handlers/CMakeFiles/suara_handlers.dir/handler.c.o: \
 /work/main/handlers/handler.c /usr/include/stdc-predef.h
