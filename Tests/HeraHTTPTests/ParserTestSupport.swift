@testable import HeraHTTP

/// What the parser produced for one input, in order; `.needMore` is not recorded.
enum Outcome {
    case request(HTTPRequest)
    case expectContinue
    case error(HTTPParseError)
}

/// Feeds `input` in chunks of `chunkSize` bytes (everything at once by default), draining
/// the parser after each feed and stopping at the first error.
func parse(_ input: String, limits: HTTPLimits = HTTPLimits(), chunkSize: Int = .max) -> [Outcome] {
    let bytes = Array(input.utf8)
    let splits = chunkSize >= bytes.count ? [] : Array(stride(from: chunkSize, to: bytes.count, by: chunkSize))
    return parse(bytes, limits: limits, splittingAt: splits)
}

/// Feeds `bytes` cut at the ascending offsets `splits`, draining the parser after each feed
/// and stopping at the first error.
func parse(_ bytes: [UInt8], limits: HTTPLimits, splittingAt splits: [Int]) -> [Outcome] {
    var parser = HTTPParser(limits: limits)
    var outcomes: [Outcome] = []
    for (start, end) in zip([0] + splits, splits + [bytes.count]) {
        parser.feed(Array(bytes[start..<end]))
        drain: while true {
            switch parser.next() {
            case .needMore: break drain
            case .request(let request): outcomes.append(.request(request))
            case .expectContinue: outcomes.append(.expectContinue)
            case .error(let error): outcomes.append(.error(error)); return outcomes
            }
        }
    }
    return outcomes
}

func requests(_ outcomes: [Outcome]) -> [HTTPRequest] {
    outcomes.compactMap { if case .request(let request) = $0 { request } else { nil } }
}

func firstError(_ outcomes: [Outcome]) -> HTTPParseError? {
    outcomes.lazy.compactMap { if case .error(let error) = $0 { error } else { nil } }.first
}

/// A small seeded generator so randomized tests are reproducible.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}
