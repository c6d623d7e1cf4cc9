import GradMixEngine

/// A task: the classes a source or target knows, and an optional map from
/// the domain's labels into the target's classes.
///
/// For example a source that knows only digits 5-9 of a 10-class target is
/// `TaskSpec(classes: [5, 6, 7, 8, 9])`; a 5-class target made of those digits
/// is the same with `labelMap: [5: 0, 6: 1, 7: 2, 8: 3, 9: 4]`.
public struct TaskSpec: Codable, Equatable, Sendable {
  /// The domain labels kept, each at most once.
  public var classes: [Int]
  /// Domain label -> target class; nil is the identity. If given, it must map every class in `classes`.
  public var labelMap: [Int: Int]?

  public init(classes: [Int], labelMap: [Int: Int]? = nil) {
    self.classes = classes
    self.labelMap = labelMap
  }

  /// All classes `0..<classCount`, unmapped.
  public static func all(_ classCount: Int) -> TaskSpec { TaskSpec(classes: Array(0..<classCount)) }
}

/// Restricts a set to a task's classes and maps its labels into the target's classes.
///
/// Keeps only the samples whose label is in `task.classes` (in their order),
/// maps each label through `task.labelMap` (identity if nil), and returns the
/// mask of the mapped classes, which is what the loss of this source allows.
///
/// - Parameters:
///   - set: the domain's images.
///   - task: the classes kept and the label map.
///   - targetClassCount: the number of target classes; every mapped label must be below it.
///   - field: the config path of the task (e.g. `sources[1].task`), for error messages.
/// - Returns: the kept, relabelled images and the ``ClassMask`` over `targetClassCount` classes.
/// - Throws: ``DataError/badConfig(field:detail:)`` naming `<field>.classes` or
///   `<field>.label_map` for an empty or repeated class list, a class the map does not
///   cover, or a mapped class outside `0..<targetClassCount`; and
///   ``DataError/classNotInDomain(field:label:imageCount:)`` for a class with no sample.
public func applyTask(_ set: ImageSet, _ task: TaskSpec, targetClassCount: Int, field: String) throws
  -> (set: ImageSet, mask: ClassMask)
{
  guard !task.classes.isEmpty else {
    throw DataError.badConfig(field: "\(field).classes", detail: "must list at least one class")
  }
  guard Set(task.classes).count == task.classes.count else {
    throw DataError.badConfig(field: "\(field).classes", detail: "lists a class more than once: \(task.classes)")
  }
  var map = [Int: Int]()
  for c in task.classes {
    let mapped: Int
    if let labelMap = task.labelMap {
      guard let m = labelMap[c] else {
        throw DataError.badConfig(
          field: "\(field).label_map", detail: "has no entry for class \(c) of \(field).classes")
      }
      mapped = m
    } else {
      mapped = c
    }
    guard mapped >= 0 && mapped < targetClassCount else {
      let source = task.labelMap == nil ? "\(field).classes" : "\(field).label_map"
      throw DataError.badConfig(
        field: source,
        detail: "class \(c) maps to \(mapped), outside the target's classes 0..<\(targetClassCount)")
    }
    map[c] = mapped
  }
  var keep = [Int]()
  var seen = Set<Int>()
  for (i, l) in set.labels.enumerated() where map[Int(l)] != nil {
    keep.append(i)
    seen.insert(Int(l))
  }
  if let missing = task.classes.first(where: { !seen.contains($0) }) {
    throw DataError.classNotInDomain(field: "\(field).classes", label: missing, imageCount: set.count)
  }
  var out = set.subset(keep)
  for k in out.labels.indices { out.labels[k] = Int32(map[Int(out.labels[k])] ?? 0) }
  let mask = ClassMask(classCount: targetClassCount, allowing: Array(Set(map.values)).sorted())
  return (out, mask)
}
