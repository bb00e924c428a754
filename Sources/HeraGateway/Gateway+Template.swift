import Foundation
import HeraDB
import HeraHTTP
import HeraSupport

extension Gateway {
    func templateList(_ caller: Caller) throws -> HTTPResponse {
        let rows = try pool.query("""
            SELECT \(Gateway.templateColumns) FROM templates t LEFT JOIN accounts a ON a.id = t.owner_id
            WHERE t.owner_id = $1 OR t.public ORDER BY t.id
            """, [String(caller.id)]).rows
        return Response.ok(["templates": rows.map(Gateway.templateJSON)])
    }

    func templateGet(_ caller: Caller, _ reference: String) throws -> HTTPResponse {
        Response.ok(Gateway.templateJSON(try templateRow(caller, reference)))
    }

    /// Renames a template or makes it public or private. Only its owner may; system templates belong to the operator.
    func templateUpdate(_ caller: Caller, _ reference: String, _ parameters: Parameters) throws -> HTTPResponse {
        let template = try templateRow(caller, reference)
        guard template.int("owner_id") == caller.id else { throw APIError.denied("only the template's owner may change it") }
        let isPublic = try parameters["public"].map { _ in try parameters.bool("public", default: false) }
        let name = try Gateway.templateName(parameters)
        do {
            try pool.query("UPDATE templates SET public = coalesce($2, public), name = coalesce($3, name) WHERE id = $1",
                           [template["id"], isPublic.map { $0 ? "t" : "f" }, name])
        } catch let error as PGError where error.sqlState == PGError.uniqueViolation {
            throw APIError.malformed("you already have a template named \(name ?? "")")
        }
        return Response.ok()
    }

    /// The optional `name` parameter, checked.
    static func templateName(_ parameters: Parameters) throws -> String? {
        let name = parameters["name"]
        if let name, !Names.isValid(name) || name.allSatisfy(\.isNumber) {
            throw APIError.malformed("name must be 1-64 letters, digits, '_', '.' or '-', starting with a letter or digit, and not all digits (that would be an id)")
        }
        return name
    }

    /// A template the caller may see, by id, `account/name` or bare name.
    private func templateRow(_ caller: Caller, _ reference: String) throws -> PGRow {
        guard reference.utf8.count <= 200 else { throw APIError("TemplateDoesNotExist", 404, "no such template") }
        guard let row = try pool.query("""
            SELECT \(Gateway.templateColumns)
            FROM template_resolve($1, $2) t LEFT JOIN accounts a ON a.id = t.owner_id WHERE t.id IS NOT NULL
            """, [String(caller.id), reference]).first else {
            throw APIError("TemplateDoesNotExist", 404, "no template \(reference)")
        }
        guard row.bool("public") == true || row.int("owner_id") == caller.id else {
            throw APIError.denied("template \(reference) is private")
        }
        return row
    }

    /// What `templateJSON` reads, from `templates t` joined with its owner `accounts a`.
    static let templateColumns = "t.id, t.name, t.public, t.min_memory_mb, t.state, t.size_mb, t.size_files, t.owner_id, a.name AS owner"

    static func templateJSON(_ row: PGRow) -> [String: Any] {
        [
            "id": row.int("id") ?? 0, "name": row["name"] ?? "", "public": row.bool("public") ?? false,
            "min_memory": row.int("min_memory_mb") ?? 0, "owner": row["owner"].map { $0 as Any } ?? NSNull(),
            "state": row["state"] ?? "ready", "size_mb": row.int("size_mb").map { $0 as Any } ?? NSNull(),
            "size_files": row.int("size_files").map { $0 as Any } ?? NSNull(),
        ]
    }
}
