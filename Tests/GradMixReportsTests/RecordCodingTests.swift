import Foundation
import GradMixRecords
import Testing

/// The run records' JSON (``RecordCoding``, ``Lenient``): what is written, and
/// how old, partial or odd records read back.
@Suite("Record coding")
struct RecordCodingTests {
  static func text<T: Encodable>(_ value: T) throws -> String {
    String(decoding: try RecordCoding.encode(value), as: UTF8.self)
  }

  @Test("a nil field is left out, a non-finite number is written as null and reads back as NaN in a list or map")
  func writesPlainValues() throws {
    var rec = MetricsRecord(step: 3)
    rec.lr = 0.5
    rec.losses = ["mnist": .nan, "usps": 1.5]
    rec.targetCoefficients = [0.25, .infinity]
    let text = try Self.text(rec)
    #expect(text == #"{"losses":{"mnist":null,"usps":1.5},"lr":0.5,"step":3,"target_coefficients":[0.25,null]}"#)
    let back = try #require(RecordCoding.decode(MetricsRecord.self, from: Data(text.utf8)))
    #expect(back.losses?["mnist"]?.isNaN == true && back.losses?["usps"] == 1.5)
    #expect(back.targetCoefficients?[1].isNaN == true && back.step == 3 && back.targetAccuracy == nil)
  }

  @Test(
    "a field of the wrong type reads as nil and the rest of the record survives; a former key reads as its new name")
  func readsLeniently() throws {
    let line = #"{"step":"seven","lr":0.1,"weights":{"a":[0.5,null]},"target_test_accuracy":0.75,"skipped":3}"#
    let rec = try #require(RecordCoding.decode(MetricsRecord.self, from: Data(line.utf8)))
    #expect(rec.step == nil && rec.skipped == nil && rec.lr == 0.1)
    #expect(rec.weights?["a"]?[0] == 0.5 && rec.weights?["a"]?[1].isNaN == true)
    #expect(rec.targetAccuracy == 0.75)
    let summary = try #require(RecordCoding.decode(RunSummary.self, from: Data(#"{"target_test_loss":2}"#.utf8)))
    #expect(summary.targetLoss == 2)
  }

  @Test("last_checkpoint is written once set, as null when set to nil, and left out before")
  func lastCheckpoint() throws {
    var summary = RunSummary()
    summary.status = "completed"
    #expect(try Self.text(summary) == #"{"status":"completed"}"#)
    summary.status = "diverged"
    summary.lastCheckpoint = nil
    let text = try Self.text(summary)
    #expect(text == #"{"last_checkpoint":null,"status":"diverged"}"#)
    #expect(RecordCoding.decode(RunSummary.self, from: Data(text.utf8)) == summary)
  }

  @Test("run.json holds the settings and the provenance in one flat object")
  func runInfoIsFlat() throws {
    var run = RunInfo()
    run.method = "gradmix"
    run.provenance.commit = "abc123"
    run.provenance.threads = 2
    let text = try Self.text(run)
    #expect(text == #"{"commit":"abc123","method":"gradmix","threads":2}"#)
    #expect(RecordCoding.decode(RunInfo.self, from: Data(text.utf8)) == run)
  }
}
