import Foundation
import XCTest

/// A throwaway CA and server certificates made with the `openssl` CLI, once per test run:
/// `server` for localhost/127.0.0.1, `wrongHost` for wrong.example, `expired` for localhost
/// but valid only in January 2020. All share `serverKey`.
struct TestCertificates: Sendable {
    let directory: String
    var caFile: String { directory + "/ca.pem" }
    var serverKey: String { directory + "/server.key" }
    var server: String { directory + "/server.pem" }
    var wrongHost: String { directory + "/wrong.pem" }
    var expired: String { directory + "/expired.pem" }

    static let shared: Result<TestCertificates, TestSetupError> = Result { () throws(TestSetupError) in try make() }

    /// The certificates, or a failing test that says why they are missing.
    static func load() throws -> TestCertificates {
        switch shared {
        case .success(let certificates): return certificates
        case .failure(let error):
            XCTFail(error.message)
            throw error
        }
    }

    private static func make() throws(TestSetupError) -> TestCertificates {
        let directory = NSTemporaryDirectory() + "hera-webhook-tls-\(getpid())"
        try? FileManager.default.removeItem(atPath: directory)
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
                .write(toFile: directory + "/server.ext", atomically: true, encoding: .utf8)
            try "subjectAltName=DNS:wrong.example\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
                .write(toFile: directory + "/wrong.ext", atomically: true, encoding: .utf8)
            try """
                [ca]
                default_ca = test
                [test]
                database = index.txt
                new_certs_dir = .
                serial = serial
                default_md = sha256
                policy = any
                unique_subject = no
                [any]
                commonName = supplied

                """.write(toFile: directory + "/ca.cnf", atomically: true, encoding: .utf8)
            try "".write(toFile: directory + "/index.txt", atomically: true, encoding: .utf8)
            try "1000\n".write(toFile: directory + "/serial", atomically: true, encoding: .utf8)
        } catch {
            throw TestSetupError(message: "cannot prepare \(directory): \(error)")
        }
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
        let steps: [[String]] = [
            ["req", "-x509"] + ec + ["-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Hera Test CA",
             "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"],
            ["req", "-new"] + ec + ["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"],
            ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", "1",
             "-out", "server.pem", "-days", "2", "-extfile", "server.ext"],
            ["x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", "2",
             "-out", "wrong.pem", "-days", "2", "-extfile", "wrong.ext"],
            ["ca", "-batch", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile", "ca.key", "-in", "server.csr",
             "-out", "expired.pem", "-startdate", "20200101000000Z", "-enddate", "20200102000000Z",
             "-extfile", "server.ext", "-notext"],
        ]
        for arguments in steps { try runOpenSSL(arguments, in: directory) }
        return TestCertificates(directory: directory)
    }

    private static func runOpenSSL(_ arguments: [String], in directory: String) throws(TestSetupError) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["openssl"] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        do {
            try process.run()
        } catch {
            throw TestSetupError(message: "the openssl CLI is required for the TLS tests: \(error)")
        }
        let output = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestSetupError(message: "openssl \(arguments.joined(separator: " ")) failed "
                                 + "(is the openssl CLI installed?): \(String(decoding: output, as: UTF8.self))")
        }
    }
}

struct TestSetupError: Error, Sendable {
    let message: String
}
