extension WebhookOutcome {
    /// 2xx delivered; 408, 429 and 5xx retryable; everything else (101, 3xx since redirects
    /// are not followed, other 4xx, codes above 599) permanent.
    init(status: Int) {
        switch status {
        case 200...299:
            self = .delivered(status: status)
        case 408, 429, 500...599:
            self = .retryable(reason: "receiver answered \(status)")
        case 300...399:
            self = .permanent(reason: "receiver answered \(status); redirects are not followed")
        default:
            self = .permanent(reason: "receiver answered \(status)")
        }
    }
}
