gateway/CMakeFiles/suara_gateway.dir/metrics.c.o: \
 /work/main/gateway/metrics.c /usr/include/stdc-predef.h
