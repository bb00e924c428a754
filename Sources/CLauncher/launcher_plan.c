/*
 * The `start` plan arrives on PLAN_FD, not in argv, so the sandbox's init (a fork of
 * the launcher) shows no host path in /proc/1/cmdline: a sequence of NUL-terminated
 * strings, read to EOF, the same words the argv form had.
 */
#define _GNU_SOURCE
#include "launcher_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_PLAN_BYTES (1 << 20)

/* Reads the whole plan; on success *words points into one allocation that lives until exit. */
int read_plan(int fd, char ***words, int *count) {
    size_t capacity = 4096, length = 0;
    char *bytes = malloc(capacity);
    if (!bytes) return -1;
    for (;;) {
        if (length == capacity) {
            if (capacity >= MAX_PLAN_BYTES) { errno = E2BIG; return -1; }
            capacity *= 2;
            char *grown = realloc(bytes, capacity);
            if (!grown) return -1;
            bytes = grown;
        }
        ssize_t got = read(fd, bytes + length, capacity - length);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) return -1;
        if (got == 0) break;
        length += (size_t)got;
    }
    if (length > 0 && bytes[length - 1] != '\0') { errno = EINVAL; return -1; }
    int total = 0;
    for (size_t i = 0; i < length; i++) total += bytes[i] == '\0';
    char **list = calloc((size_t)total + 1, sizeof *list);
    if (!list) return -1;
    char *word = bytes;
    for (int i = 0; i < total; i++) {
        list[i] = word;
        word += strlen(word) + 1;
    }
    *words = list;
    *count = total;
    return 0;
}

void hide_command_line(int argc, char *argv[], const char *name) {
    if (argc < 1) return;
    char *start = argv[0];
    char *end = argv[argc - 1] + strlen(argv[argc - 1]) + 1;
    memset(start, 0, (size_t)(end - start));
    strncpy(start, name, (size_t)(end - start) - 1);
}
