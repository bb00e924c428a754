#ifndef HERA_LAUNCHER_INTERNAL_H
#define HERA_LAUNCHER_INTERNAL_H

#include <sys/types.h>

/* The status pipe the Swift side reads; every other inherited fd is closed. */
#define STATUS_FD 3
/* In `start` mode only: the plan, NUL-separated words up to EOF (launcher_plan.c). */
#define PLAN_FD 4
/* Everything run inside a sandbox runs as this user and group ("nobody"). */
#define SANDBOX_ID 65534

/* Where report_line writes; the init child redirects it to its parent. */
extern int report_fd;

/* Writes one "<text>\n" line to report_fd. */
void report_line(const char *format, ...) __attribute__((format(printf, 1, 2)));
/* Reports "error <step> <err>" and returns 1 (the launcher's exit status). */
int report_error(const char *step, int err);

/* Writes text to an existing file (cgroup and /proc files); -1 + errno on failure. */
int write_text_file(const char *path, const char *text);
/* Waits for pid, retrying on EINTR; returns the wait status or -1. */
int wait_for(pid_t pid);

/* Reads the NUL-separated plan from fd into *words / *count; -1 + errno on failure. */
int read_plan(int fd, char ***words, int *count);
/* Overwrites the process's argv (what /proc/PID/cmdline shows) with name. */
void hide_command_line(int argc, char *argv[], const char *name);

/* /proc masking steps (launcher_proc_mask.c); -1 + errno on failure. */
int mask_file(char **args);
int make_directory_read_only(char **args);
int mask_directory(char **args);

/* Installs the commands' seccomp filter (launcher_seccomp.c); -1 + errno on failure. */
int forbid_user_namespaces(void);

/* argc/argv: the launcher's whole command line; the plan comes from PLAN_FD. */
int launch_start(int argc, char *argv[]);
int launch_exec(int argc, char *argv[]);

#endif
