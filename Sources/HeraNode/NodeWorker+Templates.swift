import Foundation
import HeraSandbox
import HeraSupport

/// Templates on this node: which ones it holds, and saving a sandbox as a new one.
extension NodeWorker {
    /// Tells the database which templates this node holds: those whose root filesystem
    /// directory exists here. Placement only considers nodes that hold a sandbox's template.
    func reportTemplates() throws {
        var held: [Int] = [], missing: [Int] = []
        for template in try store.templatesReady() {
            var isDirectory: ObjCBool = false
            let exists = FileManager.default.fileExists(atPath: template.rootfs, isDirectory: &isDirectory) && isDirectory.boolValue
            if exists { held.append(template.id) } else { missing.append(template.id) }
        }
        try store.nodeTemplatesReport(currentRun, held: held, missing: missing)
    }

    /// Ends a sandbox whose owner asked to save it as a template: its processes are stopped
    /// first, then its filesystem is copied into this node's template store and the template
    /// marked ready (held by this node). The sandbox ends `killed` either way; when the copy
    /// fails, its template is removed with it (sandbox_finish) and the detail says so.
    func saveAndEnd(_ id: String, _ handle: SandboxHandle, template: Int) {
        defer {
            condition.lock()
            saving.remove(id)
            condition.broadcast()
            condition.unlock()
        }
        let root = Result { try runner.openRoot(handle) }
        let measured = destroy(id, handle)
        let destination = templates.path(forTemplate: template)
        var detail = "saved as template \(template)"
        var copied = false
        do {
            let directory = try root.get()
            defer { directory.close() }
            // With a process of the sandbox left, the tree could still change while it is copied.
            guard handle.isDestroyed else { throw SandboxError.template("the sandbox could not be fully stopped") }
            try templates.copy(tree: directory.path, to: destination)
            copied = true
            let size = try templates.size(of: destination)
            guard try store.templateSaved(sandbox: id, run: currentRun, rootfs: destination, size: size) != nil else {
                throw SandboxError.template("the template was removed, or this node run fenced off, while it was saved")
            }
        } catch {
            Log.warn("could not save a sandbox as a template", ["sandbox": id, "template": template, "error": "\(error)"])
            if copied { try? FileManager.default.removeItem(atPath: destination) }
            detail = "it could not be saved as a template"
        }
        finish(id, reason: "killed", detail: detail, measured: measured)
    }
}
