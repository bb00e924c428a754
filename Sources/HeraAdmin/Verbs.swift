/// Every operator verb, by group; `CLI` dispatches to them and prints their help.
enum Verbs {
    static let all: [Verb] = AccountVerbs.all + TemplateVerbs.all + NodeVerbs.all + ReportVerbs.all

    static func find(group: String, name: String) -> Verb? {
        all.first { $0.group == group && $0.name == name }
    }

    static func inGroup(_ group: String) -> [Verb] { all.filter { $0.group == group } }

    /// The usage line and summary of each verb of a group.
    static func groupHelp(_ group: String) -> String {
        inGroup(group).map { "  \($0.usage)\n      \($0.summary)" }.joined(separator: "\n")
            + "\n\n`hera \(group) VERB --help` says more about one verb."
    }
}
