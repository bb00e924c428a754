#define _GNU_SOURCE
#include "launcher.h"
#include "launcher_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

int report_fd = STATUS_FD;

void report_line(const char *format, ...) {
    char line[512];
    va_list args;
    va_start(args, format);
    int length = vsnprintf(line, sizeof line - 1, format, args);
    va_end(args);
    if (length < 0) return;
    if (length > (int)sizeof line - 2) length = (int)sizeof line - 2;
    line[length++] = '\n';
    /* One write per line: a pipe write below PIPE_BUF is atomic. */
    while (write(report_fd, line, (size_t)length) < 0 && errno == EINTR) {}
}

int report_error(const char *step, int err) {
    report_line("error %s %d", step, err);
    return 1;
}

int write_text_file(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    size_t length = strlen(text);
    ssize_t written;
    do { written = write(fd, text, length); } while (written < 0 && errno == EINTR);
    int saved = errno;
    close(fd);
    if (written == (ssize_t)length) return 0;
    errno = written < 0 ? saved : EIO;
    return -1;
}

int wait_for(pid_t pid) {
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) return -1;
    }
    return status;
}

/* posix_spawn already resets the mask and SIGPIPE; this makes the launcher
   independent of how it was started. */
static void reset_signals(void) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig != SIGKILL && sig != SIGSTOP) signal(sig, SIG_DFL);
    }
}

int hera_launcher_main(int argc, char *argv[]) {
    if (argc < 3) {
        dprintf(2, "usage: %s __launch start|exec ...\n", argv[0]);
        return 2;
    }
    const char *mode = argv[2];
    int starting = strcmp(mode, "start") == 0;
    /* Nothing of the worker may leak into a sandbox: keep 0-2, the status pipe and
       (when starting) the plan. */
    if (close_range(starting ? PLAN_FD + 1 : STATUS_FD + 1, ~0U, 0) != 0) return report_error("close-fds", errno);
    if (fcntl(STATUS_FD, F_SETFD, FD_CLOEXEC) != 0) return report_error("status-fd", errno);
    reset_signals();
    umask(0);

    if (starting) return launch_start(argc, argv);
    if (strcmp(mode, "exec") == 0) return launch_exec(argc - 3, argv + 3);
    return report_error("mode", EINVAL);
}
