import HeraDB
import HeraSupport

/// `hera report …`: what the reporting views say, from the command line.
enum ReportVerbs {
    static let all = [usage]

    static let usage = Verb(group: "report", name: "usage",
                            operands: "--since TIME [--until TIME] [--account ACCOUNT] [--format table|csv|json]",
                            summary: """
                                Usage per account over the UTC hours that begin from --since (rounded down to its hour) \
                                until --until (default now), running sandboxes included up to now: sandboxes, MB-seconds, \
                                GB-hours, cost at the prices in force. TIME is anything PostgreSQL reads as a timestamp, \
                                e.g. 2024-05-01 or '2024-05-01 12:00+02'.
                                """) { call in
        _ = try call.operands(0)
        guard let since = call.settings.string("since") else { throw UsageError("usage: \(call.verb.usage)") }
        let until = call.settings.string("until"), account = call.settings.string("account")
        let connection = try call.connect()
        if let account { try AccountVerbs.requireAccount(connection, account) }
        do {
            let ordered = try connection.query("SELECT $1::timestamptz < coalesce($2::timestamptz, now()) AS ok", [since, until])
            guard ordered.first?.bool("ok") == true else { throw UsageError("--since must be before --until") }
            print(try QueryOutput.render(connection, """
                SELECT account, count(DISTINCT sandbox_id) AS sandboxes, round(sum(mb_seconds)::numeric, 1) AS mb_seconds,
                       round(sum(mb_seconds)::numeric / 3600 / 1024, 4) AS gb_hours, sum(cost) AS cost, min(currency) AS currency
                FROM usage_by_sandbox_hour
                WHERE hour >= utc_hour($1::timestamptz) AND hour < coalesce($2::timestamptz, now())
                  AND ($3::text IS NULL OR account = $3)
                GROUP BY account ORDER BY account
                """, [since, until, account], as: call.format()))
        } catch let error as PGError where error.sqlState?.hasPrefix("22") == true {
            throw UsageError("--since and --until must be dates or times, e.g. 2024-05-01 or '2024-05-01 12:00Z'")
        }
    }
}
