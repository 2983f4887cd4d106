dialogs/CMakeFiles/suara_dialogs.dir/dialog.c.o: \
 /work/main/dialogs/dialog.c /usr/include/stdc-predef.h
