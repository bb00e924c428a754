import Foundation
import HeraNode
import HeraSandbox
import HeraSupport

/// `hera template import`: everything that can be checked is checked before anything is
/// copied, and a copy that cannot be registered is removed again.
enum TemplateImport {
    static let defaultMaxSizeMB = 16_384

    /// Returns the new template's id.
    static func run(_ call: Invocation, source: String) throws -> Int {
        let name = call.settings.string("name") ?? TemplateVerbs.defaultName(source)
        guard Names.isValid(name), !name.allSatisfy(\.isNumber) else {
            throw UsageError("a template name is 1-64 letters, digits, '_', '.' or '-', not all digits (got '\(name)'); choose one with --name")
        }
        guard try call.settings.int("min-memory-mb", default: 16) > 0 else { throw UsageError("--min-memory-mb must be positive") }
        let maxSizeMB = try call.settings.int("max-size-mb", default: defaultMaxSizeMB)
        let connection = try call.connect()
        let owner = call.settings.string("owner")
        if let owner { try AccountVerbs.requireAccount(connection, owner) }
        let existing = try connection.query("""
            SELECT 1 FROM templates WHERE name = $1 AND owner_id IS NOT DISTINCT FROM (SELECT id FROM accounts WHERE name = $2)
            """, [name, owner])
        guard existing.rows.isEmpty else {
            throw UsageError("template \(TemplateVerbs.templateLabel(call, name)) exists; remove it first, or choose another --name")
        }
        let store = try TemplateStore(directory: call.settings.string("template-dir", default: NodeConfig.defaultTemplateDirectory))
        let rootfs: String
        do {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory), !isDirectory.boolValue,
               case let size = try TemplateStore.archiveSizeMB(source), size > maxSizeMB {
                throw UsageError("the archive holds \(size) MB, more than --max-size-mb \(maxSizeMB)")
            }
            rootfs = try store.importRootfs(from: source, name: (owner.map { $0 + "-" } ?? "") + name)
        } catch let error as UsageError {
            throw error
        } catch {
            throw UsageError("cannot import \(source): \(error)")
        }
        do {
            return try TemplateVerbs.register(call, name: name, rootfs: rootfs)
        } catch {
            try? store.remove(rootfs)
            throw error
        }
    }
}
