#ifndef HERA_LAUNCHER_H
#define HERA_LAUNCHER_H

/*
 * Entry point of `hera __launch <mode> ...`, the single-threaded helper that
 * builds sandboxes and runs commands in them. Must be called before any other
 * thread exists. argv[0] is the executable, argv[1] is "__launch".
 *
 * Modes (the Swift side, HeraSandbox/SandboxPlan.swift, builds these argvs):
 *   start                      read the setup steps from fd 4 (NUL-separated
 *                              words up to EOF), run them, fork the sandbox
 *                              init, report "ready <init-host-pid>" and stay
 *                              as the init's parent until it dies
 *   exec --init PID [--cgroup PROCS]... --cwd DIR [--env K=V]... -- ARGV...
 *                              join the sandbox, run ARGV as uid/gid 65534,
 *                              report "exit <code>" or "signal <number>"
 *
 * Fd 3 is the status pipe: one line per report. A failing step reports
 * "error <step> <errno>". Returns the process exit status.
 */
int hera_launcher_main(int argc, char *argv[]);

#endif
