import CLauncher
import Glibc
import HeraAdmin

// The launcher must run before any thread exists: it sets up namespaces and mounts.
// (Importing modules runs no code; Swift globals initialise lazily.)
if CommandLine.arguments.count > 1 && CommandLine.arguments[1] == "__launch" {
    exit(hera_launcher_main(CommandLine.argc, CommandLine.unsafeArgv))
}

exit(CLI.run(CommandLine.arguments))
