/// One entry of an archive as its headers describe it, before anything is unpacked.
struct ArchiveEntry: Equatable {
    enum Kind: Equatable {
        case file
        case directory
        /// Its target, as stored (relative to the entry's directory).
        case symlink(to: String)
        /// Its target, as stored (relative to the archive's root).
        case hardlink(to: String)
        /// Devices, FIFOs, zip symlinks and types Hera does not know: never unpacked.
        case refused(String)
    }

    let name: String
    let kind: Kind
}

/// Malformed archives, and entries Hera will not unpack, with a message naming the entry.
struct ArchiveError: Error {
    let message: String
    /// The archive unpacks to more than the limit (413, not 400).
    var tooLarge = false
    init(_ message: String, tooLarge: Bool = false) {
        self.message = message
        self.tooLarge = tooLarge
    }
}
