import Foundation

/// The JSON encoder and decoder of checkpoint sidecars and trainer state.
///
/// Foundation's coders throw on NaN and infinity (JSON has neither), which
/// used to end a diverging run with an internal `EncodingError`. These write
/// them as the strings `"nan"`, `"inf"` and `"-inf"` and read them back, so
/// a state that holds one still round-trips bit-exactly. Choice: strings
/// here (the state must decode), `null` in metrics.jsonl and summary.json
/// (GradMixRecords' `RecordCoding`), which are only read.
public enum CheckpointJSON {
  static let strategy = (positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")

  public static func encoder(pretty: Bool = false) -> JSONEncoder {
    let e = JSONEncoder()
    e.nonConformingFloatEncodingStrategy = .convertToString(
      positiveInfinity: strategy.positiveInfinity, negativeInfinity: strategy.negativeInfinity, nan: strategy.nan)
    if pretty { e.outputFormatting = [.prettyPrinted, .sortedKeys] }
    return e
  }

  public static func decoder() -> JSONDecoder {
    let d = JSONDecoder()
    d.nonConformingFloatDecodingStrategy = .convertFromString(
      positiveInfinity: strategy.positiveInfinity, negativeInfinity: strategy.negativeInfinity, nan: strategy.nan)
    return d
  }
}
