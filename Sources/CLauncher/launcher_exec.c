/*
 * `exec` mode: exec --init PID [--cgroup PROCS]... --cwd DIR [--env K=V]... -- ARGV...
 * Joins the sandbox's cgroups and namespaces (through the init's
 * /proc/PID/ns), forks so the child lands in the sandbox's PID namespace,
 * drops every privilege in the child and execs ARGV. stdin/stdout/stderr are
 * the launcher's own. The launcher waits and reports "exit N" or "signal N".
 */
#define _GNU_SOURCE
#include "launcher_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define MAX_CGROUPS 16
#define MAX_ENV 1024

struct exec_request {
    const char *init_pid;
    const char *cgroups[MAX_CGROUPS];
    int cgroup_count;
    const char *cwd;
    char *env[MAX_ENV + 1];
    int env_count;
    char **argv;
};

static int parse_request(int argc, char *argv[], struct exec_request *request) {
    memset(request, 0, sizeof *request);
    int index = 0;
    while (index < argc) {
        const char *option = argv[index++];
        if (strcmp(option, "--") == 0) {
            if (index >= argc) return -1;
            request->argv = argv + index;
            return request->init_pid && request->cwd ? 0 : -1;
        }
        if (index >= argc) return -1;
        char *value = argv[index++];
        if (strcmp(option, "--init") == 0) request->init_pid = value;
        else if (strcmp(option, "--cwd") == 0) request->cwd = value;
        else if (strcmp(option, "--cgroup") == 0 && request->cgroup_count < MAX_CGROUPS)
            request->cgroups[request->cgroup_count++] = value;
        else if (strcmp(option, "--env") == 0 && request->env_count < MAX_ENV)
            request->env[request->env_count++] = value;
        else return -1;
    }
    return -1;
}

/* Order matters: the mount namespace last, /proc/PID/ns is read from the host's /proc. */
static const struct { const char *name; int type; } namespaces[] = {
    {"ipc", CLONE_NEWIPC}, {"uts", CLONE_NEWUTS}, {"net", CLONE_NEWNET},
    {"pid", CLONE_NEWPID}, {"mnt", CLONE_NEWNS},
};
#define NAMESPACE_COUNT (sizeof namespaces / sizeof namespaces[0])

static int join_sandbox(const struct exec_request *request) {
    char pid[32];
    snprintf(pid, sizeof pid, "%d", getpid());
    for (int i = 0; i < request->cgroup_count; i++) {
        if (write_text_file(request->cgroups[i], pid) != 0) return report_error("cgroup-join", errno);
    }

    int fds[NAMESPACE_COUNT];
    for (size_t i = 0; i < NAMESPACE_COUNT; i++) {
        char path[64];
        snprintf(path, sizeof path, "/proc/%s/ns/%s", request->init_pid, namespaces[i].name);
        fds[i] = open(path, O_RDONLY | O_CLOEXEC);
        if (fds[i] < 0) return report_error("open-ns", errno);
    }
    for (size_t i = 0; i < NAMESPACE_COUNT; i++) {
        if (setns(fds[i], namespaces[i].type) != 0) {
            char step[32];
            snprintf(step, sizeof step, "setns-%s", namespaces[i].name);
            return report_error(step, errno);
        }
        close(fds[i]);
    }
    return 0;
}

/* In the forked child, inside the sandbox. Reports and exits 127 on failure. */
static void run_command(struct exec_request *request) {
    /* The OOM killer must pick the workload, never the init or a launcher. Raising
       needs no capability (lowering would need CAP_SYS_RESOURCE), and the workload
       cannot lower it again. */
    const char *step = "oom-score";
    if (write_text_file("/proc/self/oom_score_adj", "1000") != 0) goto failed;
    step = "no-new-privs";
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) goto failed;
    step = "setgroups";
    if (setgroups(0, NULL) != 0) goto failed;
    step = "setgid";
    if (setgid(SANDBOX_ID) != 0) goto failed;
    step = "setuid";
    if (setuid(SANDBOX_ID) != 0) goto failed;
    step = "seccomp";
    if (forbid_user_namespaces() != 0) goto failed;
    step = "chdir";
    if (chdir(request->cwd) != 0) goto failed;
    umask(022);
    /* execvp searches the PATH of environ, so install the sandbox's env first. */
    environ = request->env;
    step = "execve";
    execvp(request->argv[0], request->argv);
failed:
    report_error(step, errno);
    _exit(127);
}

int launch_exec(int argc, char *argv[]) {
    struct exec_request request;
    if (parse_request(argc, argv, &request) != 0) return report_error("arguments", EINVAL);
    if (join_sandbox(&request) != 0) return 1;

    pid_t child = fork();
    if (child < 0) return report_error("fork", errno);
    if (child == 0) run_command(&request);

    /* Only the child and its descendants hold the output pipes now. */
    close(STDIN_FILENO);
    close(STDOUT_FILENO);
    close(STDERR_FILENO);
    int status = wait_for(child);
    if (status < 0) return report_error("wait", errno);
    if (WIFSIGNALED(status)) report_line("signal %d", WTERMSIG(status));
    else report_line("exit %d", WEXITSTATUS(status));
    return 0;
}
