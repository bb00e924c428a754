/*
 * Masking of the sandbox's fresh /proc, the paths container runtimes mask.
 * Each step is skipped when its path does not exist on this kernel.
 */
#define _GNU_SOURCE
#include "launcher_internal.h"

#include <errno.h>
#include <sys/mount.h>
#include <sys/stat.h>

#define LOCKED_FLAGS (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC)

static int is_missing(const char *path) {
    struct stat info;
    return lstat(path, &info) != 0 && errno == ENOENT;
}

/* mask-file PATH NULL_DEVICE: the device bound over PATH on a nodev mount, so
   opening PATH fails with EACCES for reading and writing alike. */
int mask_file(char **args) {
    if (is_missing(args[0])) return 0;
    if (mount(args[1], args[0], NULL, MS_BIND, NULL) != 0) return -1;
    return mount(NULL, args[0], NULL, MS_BIND | MS_REMOUNT | LOCKED_FLAGS, NULL);
}

/* readonly-dir PATH: PATH stays visible, read-only. */
int make_directory_read_only(char **args) {
    if (is_missing(args[0])) return 0;
    if (mount(args[0], args[0], NULL, MS_BIND | MS_REC, NULL) != 0) return -1;
    return mount(NULL, args[0], NULL, MS_BIND | MS_REMOUNT | LOCKED_FLAGS, NULL);
}

/* mask-dir PATH: an empty read-only tmpfs hides PATH. */
int mask_directory(char **args) {
    if (is_missing(args[0])) return 0;
    return mount("tmpfs", args[0], "tmpfs", LOCKED_FLAGS, "size=0,nr_inodes=1,mode=0555");
}
