import Foundation

/// Chooses the cgroup driver once, from /proc/self/mountinfo and /proc/self/cgroup.
/// A v1 memory hierarchy wins (hybrid hosts with an empty cgroup2 mount are v1);
/// otherwise the cgroup2 mount is used.
enum CgroupDetection {
    struct CgroupMount: Equatable {
        var mountPoint: String
        /// The cgroup path mounted there ("/" unless inside a cgroup namespace).
        var root: String
        var isVersion2: Bool
        var controllers: [String]
    }

    /// `parent`: nil for "<own cgroup>/hera"; "/a/b" is relative to each hierarchy's root;
    /// "a/b" is relative to this process's own cgroup in each hierarchy.
    static func makeDriver(parent: String?) throws -> CgroupDriver {
        let mounts = parseMountInfo(try SystemFile.read("/proc/self/mountinfo"))
        let membership = parseProcCgroup(try SystemFile.read("/proc/self/cgroup"))

        func parentDirectory(for mount: CgroupMount, ownPath: String?) throws -> String {
            if let parent, parent.hasPrefix("/") { return mount.mountPoint + parent }
            guard let ownPath else { throw SandboxError.cgroup("cannot find this process's cgroup for \(mount.mountPoint)") }
            return mount.mountPoint + relative(ownPath, to: mount.root) + "/" + (parent ?? "hera")
        }

        if mounts.contains(where: { !$0.isVersion2 && $0.controllers.contains("memory") }) {
            var parents: [String: String] = [:]
            for controller in CgroupV1Driver.controllers {
                guard let mount = mounts.first(where: { !$0.isVersion2 && $0.controllers.contains(controller) }) else {
                    throw SandboxError.cgroup("no cgroup v1 hierarchy with the \(controller) controller is mounted")
                }
                let ownPath = membership.first { $0.controllers.contains(controller) }?.path
                parents[controller] = try parentDirectory(for: mount, ownPath: ownPath)
            }
            return try CgroupV1Driver(parents: parents)
        }
        guard let mount = mounts.first(where: { $0.isVersion2 }) else {
            throw SandboxError.cgroup("no cgroup filesystem is mounted")
        }
        let ownPath = membership.first { $0.hierarchyID == "0" }?.path
        let directory = try parentDirectory(for: mount, ownPath: ownPath)
        return try CgroupV2Driver(mountRoot: mount.mountPoint, parent: String(directory.dropFirst(mount.mountPoint.count)))
    }

    /// Cgroup mounts from mountinfo lines: "id parent dev root mountpoint opts ... - fstype source superopts".
    static func parseMountInfo(_ text: String) -> [CgroupMount] {
        text.split(separator: "\n").compactMap { line in
            let halves = line.components(separatedBy: " - ")
            guard halves.count == 2 else { return nil }
            let fields = halves[0].split(separator: " ").map(String.init)
            let tail = halves[1].split(separator: " ").map(String.init)
            guard fields.count >= 5, tail.count >= 3, tail[0] == "cgroup" || tail[0] == "cgroup2" else { return nil }
            return CgroupMount(mountPoint: fields[4], root: fields[3], isVersion2: tail[0] == "cgroup2",
                               controllers: tail[2].split(separator: ",").map(String.init))
        }
    }

    struct Membership: Equatable {
        var hierarchyID: String
        var controllers: [String]
        var path: String
    }

    /// Lines of /proc/self/cgroup: "4:memory:/process_api/x", "0::/user.slice".
    static func parseProcCgroup(_ text: String) -> [Membership] {
        text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 3 else { return nil }
            return Membership(hierarchyID: fields[0], controllers: fields[1].split(separator: ",").map(String.init), path: fields[2])
        }
    }

    /// `path` below the mounted `root`, "" for the root itself.
    static func relative(_ path: String, to root: String) -> String {
        let trimmedRoot = root == "/" ? "" : root
        let below = path.hasPrefix(trimmedRoot) ? String(path.dropFirst(trimmedRoot.count)) : path
        return below == "/" ? "" : below
    }
}
