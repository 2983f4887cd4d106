/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The replay driver: a main() for the fuzz targets when they are not linked with libFuzzer
 * (the normal gcc build, plain and ASan). Each argument is a file or a directory of files; every
 * file is read whole and handed once to LLVMFuzzerTestOneInput. ctest runs each target over its
 * seed corpus (tests/fuzz/corpus/<target>/) and its regression inputs
 * (tests/fuzz/regress/<target>/), so an input that once crashed stays a test.
 */
#include "fuzz.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define REPLAY_MAX_BYTES (4u << 20)

static int replay_file(const char *path, size_t *count)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    uint8_t *buf = malloc(REPLAY_MAX_BYTES);
    size_t n = buf ? fread(buf, 1, REPLAY_MAX_BYTES, f) : 0;
    int err = !buf || ferror(f) || !feof(f);
    fclose(f);
    if (err) {
        fprintf(stderr, "replay: %s: cannot read (or larger than %u bytes)\n", path,
                REPLAY_MAX_BYTES);
        free(buf);
        return -1;
    }
    /* An exact-size copy, so ASan catches a read one byte past the input. */
    uint8_t *exact = malloc(n ? n : 1);
    if (n)
        memcpy(exact, buf, n);
    free(buf);
    LLVMFuzzerTestOneInput(exact, n);
    free(exact);
    (*count)++;
    return 0;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file in dir (not recursive), in name order. */
static int replay_dir(const char *dir, size_t *count)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        names = realloc(names, (n + 1) * sizeof(*names));
        names[n++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof(*names), name_cmp);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && replay_file(path, count) != 0)
            rc = -1;
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    size_t count = 0;
    int rc = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            rc = 1;
        } else if ((S_ISDIR(st.st_mode) ? replay_dir(argv[i], &count)
                                        : replay_file(argv[i], &count)) != 0) {
            rc = 1;
        }
    }
    fprintf(stderr, "replay: %zu inputs\n", count);
    if (count == 0) /* a test over no input proves nothing */
        rc = 1;
    return rc;
}
