/*
 * `start` mode: executes the plan built by HeraSandbox/SandboxPlan.swift,
 * read from PLAN_FD. The plan is a flat list of steps, each an operation name followed by a
 * fixed number of arguments. Steps before "fork-init" run in the launcher;
 * "fork-init" forks the future PID 1 of the new PID namespace, and the
 * remaining steps run in that child, which then becomes the init. The
 * launcher stays behind as the init's parent ("monitor") so the init is
 * always reaped by someone who waits for it.
 */
#define _GNU_SOURCE
#include "launcher_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#define SANDBOX_NAMESPACES (CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWPID)

static int join_cgroup(char **args) {
    char pid[32];
    snprintf(pid, sizeof pid, "%d", getpid());
    return write_text_file(args[0], pid);
}

static int enter_namespaces(char **args) {
    (void)args;
    return unshare(SANDBOX_NAMESPACES);
}

static int make_mounts_private(char **args) {
    (void)args;
    return mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
}

static int parse_mount_flags(const char *text, unsigned long *flags) {
    static const struct { const char *name; unsigned long flag; } known[] = {
        {"bind", MS_BIND}, {"remount", MS_REMOUNT}, {"rdonly", MS_RDONLY},
        {"nosuid", MS_NOSUID}, {"nodev", MS_NODEV}, {"noexec", MS_NOEXEC},
    };
    *flags = 0;
    if (strcmp(text, "-") == 0) return 0;
    char copy[256];
    if (snprintf(copy, sizeof copy, "%s", text) >= (int)sizeof copy) return -1;
    char *saveptr = NULL;
    for (char *name = strtok_r(copy, ",", &saveptr); name; name = strtok_r(NULL, ",", &saveptr)) {
        size_t i = 0;
        while (i < sizeof known / sizeof known[0] && strcmp(known[i].name, name) != 0) i++;
        if (i == sizeof known / sizeof known[0]) return -1;
        *flags |= known[i].flag;
    }
    return 0;
}

/* mount LABEL SOURCE TARGET FSTYPE FLAGS DATA; "-" means none. */
static int mount_filesystem(char **args) {
    unsigned long flags;
    if (parse_mount_flags(args[4], &flags) != 0) { errno = EINVAL; return -1; }
    const char *fstype = strcmp(args[3], "-") == 0 ? NULL : args[3];
    const char *data = strcmp(args[5], "-") == 0 ? NULL : args[5];
    return mount(args[1], args[2], fstype, flags, data);
}

/* mkdir PATH MODE: PATH ends up a real directory. These steps run as root with the host's root
   still in place, on paths inside the sandbox's writable root, whose last component the
   template (or a sandbox saved as one) controls: a symbolic link or a file there (`/tmp ->
   /etc`) is removed — in the overlay's upper layer — never followed. Nothing of the sandbox
   runs yet, so nothing can swap it back. */
static int make_directory(char **args) {
    mode_t mode = (mode_t)strtoul(args[1], NULL, 8);
    if (mkdir(args[0], mode) == 0) return 0;
    if (errno != EEXIST) return -1;
    struct stat existing;
    if (lstat(args[0], &existing) != 0) return -1;
    if (S_ISDIR(existing.st_mode)) return 0;
    if (unlink(args[0]) != 0) return -1;
    return mkdir(args[0], mode);
}

/* chmod PATH MODE, on a directory, never through a symbolic link. */
static int change_mode(char **args) {
    int fd = open(args[0], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return -1;
    int result = fchmod(fd, (mode_t)strtoul(args[1], NULL, 8));
    int saved = errno;
    close(fd);
    errno = saved;
    return result;
}

/* mknod PATH MAJOR MINOR: a character device anyone may read and write. */
/* copy-owner MODEL PATH: PATH gets MODEL's owner, group and permission bits. */
static int copy_ownership(char **args) {
    struct stat model;
    if (stat(args[0], &model) != 0) return -1;
    if (chown(args[1], model.st_uid, model.st_gid) != 0) return -1;
    return chmod(args[1], model.st_mode & 07777);
}

static int make_char_device(char **args) {
    dev_t device = makedev(strtoul(args[1], NULL, 10), strtoul(args[2], NULL, 10));
    return mknod(args[0], S_IFCHR | 0666, device);
}

static int make_symlink(char **args) {
    return symlink(args[0], args[1]);
}

static int set_hostname(char **args) {
    return sethostname(args[0], strlen(args[0]));
}

static int bring_loopback_up(char **args) {
    (void)args;
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0) return -1;
    struct ifreq request;
    memset(&request, 0, sizeof request);
    strcpy(request.ifr_name, "lo");
    int result = ioctl(sock, SIOCGIFFLAGS, &request);
    if (result == 0) {
        request.ifr_flags |= IFF_UP | IFF_RUNNING;
        result = ioctl(sock, SIOCSIFFLAGS, &request);
    }
    int saved = errno;
    close(sock);
    errno = saved;
    return result;
}

/* Makes NEW_ROOT the root and detaches the old one entirely. */
static int switch_root(char **args) {
    if (chdir(args[0]) != 0) return -1;
    if (syscall(SYS_pivot_root, ".", ".") != 0) return -1;
    if (umount2(".", MNT_DETACH) != 0) return -1;
    return chdir("/");
}

struct step {
    const char *name;
    int argument_count;
    int (*run)(char **args);
};

static const struct step steps[] = {
    {"cgroup-join", 1, join_cgroup},
    {"unshare", 0, enter_namespaces},
    {"mount-private", 0, make_mounts_private},
    {"mount", 6, mount_filesystem},
    {"mkdir", 2, make_directory},
    {"chmod", 2, change_mode},
    {"copy-owner", 2, copy_ownership},
    {"mknod", 3, make_char_device},
    {"symlink", 2, make_symlink},
    {"sethostname", 1, set_hostname},
    {"loopback-up", 0, bring_loopback_up},
    {"pivot_root", 1, switch_root},
    {"mask-file", 2, mask_file},
    {"readonly-dir", 1, make_directory_read_only},
    {"mask-dir", 1, mask_directory},
};

/* PID 1 of the sandbox: reaps every orphan, forever. Killed from outside only. */
static void run_init(void) {
    prctl(PR_SET_NAME, "hera-init");
    sigset_t child_exited;
    sigemptyset(&child_exited);
    sigaddset(&child_exited, SIGCHLD);
    sigprocmask(SIG_BLOCK, &child_exited, NULL);
    for (;;) {
        while (waitpid(-1, NULL, WNOHANG) > 0) {}
        sigwaitinfo(&child_exited, NULL);
    }
}

/* In the launcher after fork-init: forward the child's verdict, then reap it. */
static int monitor_init(pid_t init_pid, int verdict_fd) {
    prctl(PR_SET_NAME, "hera-monitor");
    char verdict[256];
    ssize_t length;
    do { length = read(verdict_fd, verdict, sizeof verdict - 1); } while (length < 0 && errno == EINTR);
    close(verdict_fd);
    if (length > 0 && strncmp(verdict, "ok", 2) == 0) {
        report_line("ready %d", init_pid);
        close(STATUS_FD);
        wait_for(init_pid);
        return 0;
    }
    if (length > 0) {
        verdict[length] = '\0';
        report_line("%s", verdict);
    } else {
        report_error("init-died", 0);
    }
    kill(init_pid, SIGKILL);
    wait_for(init_pid);
    return 1;
}

/* Returns in the child (0) with report_fd redirected to the verdict pipe and the
   command line (the launcher's path) hidden from the sandbox's /proc/1/cmdline. */
static int fork_init(int argc, char *argv[]) {
    int verdict[2];
    if (pipe2(verdict, O_CLOEXEC) != 0) return report_error("fork-init", errno);
    pid_t pid = fork();
    if (pid < 0) return report_error("fork-init", errno);
    if (pid > 0) {
        close(verdict[1]);
        exit(monitor_init(pid, verdict[0]));
    }
    close(verdict[0]);
    close(STATUS_FD);
    report_fd = verdict[1];
    hide_command_line(argc, argv, "hera-init");
    return 0;
}

static const struct step *find_step(const char *name) {
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        if (strcmp(steps[i].name, name) == 0) return &steps[i];
    }
    return NULL;
}

int launch_start(int argc, char *argv[]) {
    char **plan;
    int count;
    if (read_plan(PLAN_FD, &plan, &count) != 0) return report_error("read-plan", errno);
    close(PLAN_FD);
    int index = 0;
    while (index < count) {
        const char *name = plan[index++];
        if (strcmp(name, "fork-init") == 0) {
            if (fork_init(argc, argv) != 0) return 1;
            continue;
        }
        const struct step *step = find_step(name);
        if (!step || index + step->argument_count > count) return report_error(name, EINVAL);
        char **args = plan + index;
        index += step->argument_count;
        if (step->run(args) != 0) {
            /* A mount reports its label, e.g. "mount-overlay". */
            char label[64];
            if (step->run == mount_filesystem) snprintf(label, sizeof label, "mount-%s", args[0]);
            else snprintf(label, sizeof label, "%s", step->name);
            return report_error(label, errno);
        }
    }
    if (report_fd == STATUS_FD) return report_error("fork-init", EINVAL); /* plan lacked fork-init */
    report_line("ok");
    close(report_fd);
    run_init();
    return 0;
}
