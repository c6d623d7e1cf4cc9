/// A picture of a few samples per class: class c fills column c, and its
/// first `perClass` images (in set order) go down that column.
///
/// Cells are `scale` times the image size with a 2-pixel gap (dark grey);
/// a class with fewer images leaves its remaining cells dark. Grey images are
/// shown as grey, and images with more than 3 channels show their first 3.
///
/// - Parameters:
///   - set: the images.
///   - perClass: images per class (rows).
///   - classCount: classes (columns); labels outside are skipped.
///   - scale: pixel replication factor.
/// - Returns: the picture's size and RGB values, rows top to bottom.
public func gridImage(_ set: ImageSet, perClass: Int, classCount: Int, scale: Int)
  -> (width: Int, height: Int, rgb: [UInt8])
{
  gridImage(stacking: [set], perClass: perClass, classCount: classCount, scale: scale)
}

/// Several grids (one block of `perClass` rows per set) stacked vertically,
/// each block labelled with its number (1, 2, ...) in the left margin.
///
/// - Parameters: as ``gridImage(_:perClass:classCount:scale:)``; the sets may differ in size.
public func gridImage(stacking sets: [ImageSet], perClass: Int, classCount: Int, scale: Int)
  -> (width: Int, height: Int, rgb: [UInt8])
{
  precondition(
    !sets.isEmpty && perClass > 0 && classCount > 0 && scale > 0,
    "A grid needs at least one set and a positive per-class count, class count and scale.")
  let gap = 2, labelled = sets.count > 1
  let margin = labelled ? 5 * 3 + 2 * gap : 0  // room for a 3x5 digit drawn 3x
  let cellW = sets.map(\.width).max()! * scale, cellH = sets.map(\.height).max()! * scale
  let width = margin + gap + classCount * (cellW + gap)
  let blockH = perClass * (cellH + gap) + (labelled ? 3 * gap : 0)
  let height = gap + sets.count * blockH
  var rgb = [UInt8](repeating: 32, count: width * height * 3)
  for (b, set) in sets.enumerated() {
    let top = gap + b * blockH
    if labelled { drawNumber(b + 1, x: gap, y: top + gap, scale: 3, into: &rgb, width: width) }
    let byClass = set.indicesByClass(classCount: classCount)
    for c in 0..<classCount {
      for (r, i) in byClass[c].prefix(perClass).enumerated() {
        let x0 = margin + gap + c * (cellW + gap), y0 = top + r * (cellH + gap)
        let px = set.image(i)
        for y in 0..<(set.height * scale) {
          for x in 0..<(set.width * scale) {
            let s = px.startIndex + ((y / scale) * set.width + x / scale) * set.channels
            let o = ((y0 + y) * width + x0 + x) * 3
            for ch in 0..<3 { rgb[o + ch] = px[s + (set.channels >= 3 ? ch : 0)] }
          }
        }
      }
    }
  }
  return (width, height, rgb)
}

/// Draws `n` in a 3x5 pixel font, `scale` times, in light grey.
func drawNumber(_ n: Int, x: Int, y: Int, scale: Int, into rgb: inout [UInt8], width: Int) {
  // Rows of each glyph, 3 bits per row, most significant bit on the left.
  let font: [[UInt8]] = [
    [7, 5, 5, 5, 7], [2, 6, 2, 2, 7], [7, 1, 7, 4, 7], [7, 1, 7, 1, 7], [5, 5, 7, 1, 1],
    [7, 4, 7, 1, 7], [7, 4, 7, 5, 7], [7, 1, 1, 1, 1], [7, 5, 7, 5, 7], [7, 5, 7, 1, 7],
  ]
  for (k, ch) in String(n).enumerated() {
    guard let d = ch.wholeNumberValue else { continue }
    for row in 0..<5 {
      for col in 0..<3 where font[d][row] >> (2 - col) & 1 == 1 {
        for dy in 0..<scale {
          for dx in 0..<scale {
            let px = x + (k * 4 + col) * scale + dx, py = y + row * scale + dy
            let o = (py * width + px) * 3
            if o >= 0 && o + 2 < rgb.count { rgb[o] = 220; rgb[o + 1] = 220; rgb[o + 2] = 220 }
          }
        }
      }
    }
  }
}
