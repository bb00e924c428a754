/// Mount flags understood by the launcher's `mount` step.
enum MountFlag: String, Sendable {
    case bind, remount, rdonly, nosuid, nodev, noexec
}

/// One setup step the C launcher carries out (Sources/CLauncher/launcher_start.c).
/// Each step serializes to its operation name followed by a fixed number of arguments.
enum SandboxStep: Equatable, Sendable {
    case joinCgroup(procsFile: String)
    case unshareNamespaces
    /// Steps after this one run in the sandbox's PID 1, which then becomes the init.
    case forkInit
    case makeMountsPrivate
    case mount(label: String, source: String, target: String, fsType: String?, flags: [MountFlag], data: String?)
    case makeDirectory(path: String, mode: Int)
    case changeMode(path: String, mode: Int)
    /// Gives `path` the owner, group and mode of `model`.
    case copyOwnership(model: String, path: String)
    case makeCharDevice(path: String, major: Int, minor: Int)
    case symlink(target: String, path: String)
    case setHostname(String)
    case bringLoopbackUp
    case pivotRoot(newRoot: String)
    /// Binds `nullDevice` over `path` on a nodev mount (opening it fails); skipped if `path` is missing.
    case maskFile(path: String, nullDevice: String)
    /// Rebinds the directory read-only; skipped if it is missing.
    case makeReadOnly(path: String)
    /// Hides the directory under an empty read-only tmpfs; skipped if it is missing.
    case maskDirectory(path: String)

    var launcherArguments: [String] {
        switch self {
        case .joinCgroup(let procsFile): ["cgroup-join", procsFile]
        case .unshareNamespaces: ["unshare"]
        case .forkInit: ["fork-init"]
        case .makeMountsPrivate: ["mount-private"]
        case .mount(let label, let source, let target, let fsType, let flags, let data):
            ["mount", label, source, target, fsType ?? "-",
             flags.isEmpty ? "-" : flags.map(\.rawValue).joined(separator: ","), data ?? "-"]
        case .makeDirectory(let path, let mode): ["mkdir", path, String(mode, radix: 8)]
        case .changeMode(let path, let mode): ["chmod", path, String(mode, radix: 8)]
        case .copyOwnership(let model, let path): ["copy-owner", model, path]
        case .makeCharDevice(let path, let major, let minor): ["mknod", path, String(major), String(minor)]
        case .symlink(let target, let path): ["symlink", target, path]
        case .setHostname(let name): ["sethostname", name]
        case .bringLoopbackUp: ["loopback-up"]
        case .pivotRoot(let newRoot): ["pivot_root", newRoot]
        case .maskFile(let path, let nullDevice): ["mask-file", path, nullDevice]
        case .makeReadOnly(let path): ["readonly-dir", path]
        case .maskDirectory(let path): ["mask-dir", path]
        }
    }

    /// The step name the launcher reports if this step fails.
    var reportedName: String {
        if case .mount(let label, _, _, _, _, _) = self { return "mount-" + label }
        return launcherArguments[0]
    }
}

/// The ordered setup of one sandbox, from its spec and host paths.
///
/// On the host: join the cgroups, unshare mnt/uts/ipc/net/pid, fork the init.
/// In the init: private mounts; a size-capped tmpfs on the scratch directory
/// holding lower (read-only bind of the template), upper (owned like the
/// template's root), work and the overlay root; /tmp 1777; fresh /proc; a minimal /dev; the sensitive /proc
/// paths masked as container runtimes do; hostname; loopback up; pivot_root
/// into the overlay with the old root detached.
///
/// /proc/1/mountinfo inside still shows the host path of the template and the
/// scratch directory as mount sources: the kernel records them at mount time.
struct SandboxPlan: Equatable, Sendable {
    static let devices: [(name: String, major: Int, minor: Int)] = [
        ("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0),
    ]
    /// Kernel memory, keyrings, timers, scheduler internals and the magic SysRq key.
    static let maskedProcFiles = ["kcore", "keys", "timer_list", "sched_debug", "sysrq-trigger"]
    /// Kernel tunables and hardware views: readable, never writable.
    static let readOnlyProcDirectories = ["sys", "irq", "bus", "fs"]
    /// Hardware views with nothing a sandbox needs.
    static let maskedProcDirectories = ["acpi", "scsi"]

    /// Files and directories the writable layer may hold: one per KiB of it. Empty directories
    /// cost a tmpfs nothing but cost a template saved from the sandbox a disk block each.
    static let inodesPerMB = 1024

    let steps: [SandboxStep]

    init(spec: SandboxSpec, scratchDirectory scratch: String, cgroupProcsFiles: [String]) {
        let lower = scratch + "/lower", upper = scratch + "/upper", work = scratch + "/work", root = scratch + "/root"
        var steps: [SandboxStep] = cgroupProcsFiles.map { .joinCgroup(procsFile: $0) }
        steps += [
            .unshareNamespaces,
            .forkInit,
            .makeMountsPrivate,
            .mount(label: "scratch", source: "tmpfs", target: scratch, fsType: "tmpfs", flags: [.nosuid, .nodev],
                   data: "size=\(spec.limits.scratchMB)m,nr_inodes=\(spec.limits.scratchMB * SandboxPlan.inodesPerMB),mode=0700"),
        ]
        steps += [lower, upper, work, root].map { .makeDirectory(path: $0, mode: 0o755) }
        steps += [
            .mount(label: "template", source: spec.rootfs, target: lower, fsType: nil, flags: [.bind], data: nil),
            .mount(label: "template-readonly", source: "none", target: lower, fsType: nil,
                   flags: [.bind, .remount, .rdonly, .nosuid, .nodev], data: nil),
            // The overlay's root directory is the upper one: it must look like the template's root.
            .copyOwnership(model: lower, path: upper),
            .mount(label: "overlay", source: "overlay", target: root, fsType: "overlay", flags: [.nosuid, .nodev],
                   data: "lowerdir=\(lower),upperdir=\(upper),workdir=\(work)"),
            .makeDirectory(path: root + "/tmp", mode: 0o1777),
            .changeMode(path: root + "/tmp", mode: 0o1777),
            .makeDirectory(path: root + "/proc", mode: 0o555),
            .mount(label: "proc", source: "proc", target: root + "/proc", fsType: "proc",
                   flags: [.nosuid, .nodev, .noexec], data: nil),
            .makeDirectory(path: root + "/dev", mode: 0o755),
            .mount(label: "dev", source: "tmpfs", target: root + "/dev", fsType: "tmpfs", flags: [.nosuid, .noexec],
                   data: "size=64k,nr_inodes=64,mode=0755"),
        ]
        steps += Self.devices.map { .makeCharDevice(path: root + "/dev/" + $0.name, major: $0.major, minor: $0.minor) }
        steps += [("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")]
            .map { .symlink(target: $0.1, path: root + "/dev/" + $0.0) }
        steps += Self.maskedProcFiles.map { .maskFile(path: root + "/proc/" + $0, nullDevice: root + "/dev/null") }
        steps += Self.readOnlyProcDirectories.map { .makeReadOnly(path: root + "/proc/" + $0) }
        steps += Self.maskedProcDirectories.map { .maskDirectory(path: root + "/proc/" + $0) }
        steps += [
            .setHostname(spec.hostname),
            .bringLoopbackUp,
            .pivotRoot(newRoot: root),
        ]
        self.steps = steps
    }

    /// Arguments after the launcher command; the steps go through `serialized`.
    var launcherArguments: [String] { ["start"] }

    /// The steps as the launcher reads them from its plan fd: NUL-terminated words.
    var serialized: [UInt8] { steps.flatMap(\.launcherArguments).flatMap { Array($0.utf8) + [0] } }
}

/// How to run one command in a running sandbox (Sources/CLauncher/launcher_exec.c).
struct ExecPlan: Equatable, Sendable {
    static let defaultEnvironment = ["PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin", "HOME": "/tmp"]

    let launcherArguments: [String]

    init(initPid: Int32, cgroupProcsFiles: [String], request: ExecRequest) {
        var arguments = ["exec", "--init", String(initPid)]
        for procsFile in cgroupProcsFiles { arguments += ["--cgroup", procsFile] }
        arguments += ["--cwd", request.cwd]
        let environment = Self.defaultEnvironment.merging(request.env) { _, requested in requested }
        for (key, value) in environment.sorted(by: { $0.key < $1.key }) { arguments += ["--env", key + "=" + value] }
        launcherArguments = arguments + ["--"] + request.args
    }
}
