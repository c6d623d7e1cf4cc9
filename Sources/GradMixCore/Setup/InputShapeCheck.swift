import GradMixData
import GradMixEngine

/// Refuses data whose images do not have the model's input shape, before training reads them.
///
/// A mismatch used to read out of bounds (a crash, or a silent run on
/// garbage). Choice: a plain equality check; converting or resizing images
/// to `model.input` is the data readers' job, and this check then passes.
enum InputShapeCheck {
  /// Throws a ``ConfigError`` for `model.input` naming both shapes unless `data` has `input`'s sample shape.
  static func check(_ data: ImageSet, input: [Int], what: String, file: String) throws {
    guard data.sampleShape.dims == input else {
      throw ConfigError(
        file: file, field: "model.input",
        "is \(input) but the images of \(what) are \(data.sampleShape.dims) ([C, H, W])")
    }
  }
}
