import Foundation
import HeraNode
import HeraSandbox
import HeraSupport

/// `hera template import`: everything that can be checked is checked before anything is
/// copied; the template is registered (`creating`) before its directory exists, so a
/// concurrent import of the same name or `template prune` cannot get in the way; a failed
/// import removes its row and its copy.
enum TemplateImport {
    static let defaultMaxSizeMB = 16_384
    static let defaultMaxFiles = 1_000_000

    /// Returns the new template's id.
    static func run(_ call: Invocation, source: String) throws -> Int {
        let name = call.settings.string("name") ?? TemplateVerbs.defaultName(source)
        guard Names.isValid(name), !name.allSatisfy(\.isNumber) else {
            throw UsageError("a template name is 1-64 letters, digits, '_', '.' or '-', not all digits (got '\(name)'); choose one with --name")
        }
        let minMemoryMB = try call.settings.int("min-memory-mb", default: 16)
        guard minMemoryMB > 0, minMemoryMB <= Int(Int32.max) else { throw UsageError("--min-memory-mb must be positive") }
        let connection = try call.connect()
        let owner = call.settings.string("owner")
        if let owner { try AccountVerbs.requireAccount(connection, owner) }
        let store = try TemplateStore(directory: call.settings.string("template-dir", default: NodeConfig.defaultTemplateDirectory))
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory), !isDirectory.boolValue {
            try checkArchive(call, source)
        }
        let rootfs = try store.newDirectory(name: (owner.map { $0 + "-" } ?? "") + name)
        let id = try Admin.templateReserve(connection, name: name, rootfs: rootfs, owner: owner,
                                           isPublic: call.settings.bool("public"), minMemoryMB: minMemoryMB)
        do {
            do { try store.importRootfs(from: source, to: rootfs) } catch { throw UsageError("cannot import \(source): \(error)") }
            try Admin.templateReady(connection, template: id)
        } catch {
            _ = try? connection.query("DELETE FROM templates WHERE id = $1", [String(id)])
            try? store.remove(rootfs)
            throw error
        }
        try TemplateVerbs.reportHolders(call, connection, template: id, rootfs: rootfs)
        return id
    }

    private static func checkArchive(_ call: Invocation, _ archive: String) throws {
        let maxSizeMB = try call.settings.int("max-size-mb", default: defaultMaxSizeMB)
        let maxFiles = try call.settings.int("max-files", default: defaultMaxFiles)
        let contents: TemplateStore.Size
        do { contents = try TemplateStore.archiveContents(archive) } catch { throw UsageError("cannot import \(archive): \(error)") }
        guard contents.megabytes <= maxSizeMB else { throw UsageError("the archive holds \(contents.megabytes) MB, more than --max-size-mb \(maxSizeMB)") }
        guard contents.files <= maxFiles else { throw UsageError("the archive holds \(contents.files) members, more than --max-files \(maxFiles)") }
    }
}
